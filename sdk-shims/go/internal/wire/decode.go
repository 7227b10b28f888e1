package wire

// DecodeRequest decodes one request body; any malformation is a [Kind].
func DecodeRequest(body []byte) (Request, error) {
	r := Reader{data: body}
	id, err := r.U32()
	if err != nil {
		return Request{}, err
	}
	tag, err := r.Tag(requestTags)
	if err != nil {
		return Request{}, err
	}
	var b RequestBody
	switch tag {
	case TagHello:
		b, err = decodeHelloRequest(&r)
	case TagGet:
		var name string
		name, err = r.String()
		b = GetRequest{Name: name}
	case TagList:
		b = ListRequest{}
	case TagRender:
		var t string
		t, err = r.String()
		b = RenderRequest{Template: t}
	case TagRedact:
		var t string
		t, err = r.String()
		b = RedactRequest{Text: t}
	case TagPing:
		b = PingRequest{}
	}
	if err == nil {
		err = r.Finish()
	}
	if err != nil {
		return Request{}, err
	}
	return Request{ID: id, Body: b}, nil
}

func decodeHelloRequest(r *Reader) (RequestBody, error) {
	version, err := r.U16()
	if err != nil {
		return nil, err
	}
	client, err := r.String()
	if err != nil {
		return nil, err
	}
	token, found, err := r.OptionString()
	if err != nil {
		return nil, err
	}
	h := HelloRequest{Version: version, Client: client}
	if found {
		h.Token = &token
	}
	return h, nil
}

// DecodeResponse decodes one response body; any malformation is a [Kind].
func DecodeResponse(body []byte) (Response, error) {
	r := Reader{data: body}
	id, err := r.U32()
	if err != nil {
		return Response{}, err
	}
	tag, err := r.Tag(responseTags)
	if err != nil {
		return Response{}, err
	}
	var b ResponseBody
	switch tag {
	case TagHelloResponse:
		b, err = decodeHelloResponse(&r)
	case TagSecret:
		var s SecretResponse
		s.Value, s.Found, err = r.OptionString()
		b = s
	case TagListResponse:
		b, err = decodeList(&r)
	case TagRendered:
		var x RenderedResponse
		if x.Text, err = r.String(); err == nil {
			x.Missing, err = r.Strings()
		}
		b = x
	case TagRedacted:
		var x RedactedResponse
		if x.Text, err = r.String(); err == nil {
			x.Found, err = r.Strings()
		}
		b = x
	case TagPong:
		b = PongResponse{}
	case TagError:
		var code uint32
		var x ErrorResponse
		if code, err = r.Tag(uint32(errorCodes)); err == nil {
			x.Code = ErrorCode(code)
			x.Message, err = r.String()
		}
		b = x
	}
	if err == nil {
		err = r.Finish()
	}
	if err != nil {
		return Response{}, err
	}
	return Response{ID: id, Body: b}, nil
}

func decodeHelloResponse(r *Reader) (ResponseBody, error) {
	var h HelloResponse
	var err error
	if h.Version, err = r.U16(); err != nil {
		return nil, err
	}
	if h.Sidecar, err = r.String(); err != nil {
		return nil, err
	}
	if h.ExecutionID, err = r.String(); err != nil {
		return nil, err
	}
	return h, nil
}

func decodeList(r *Reader) (ResponseBody, error) {
	n, capacity, err := r.Count()
	if err != nil {
		return nil, err
	}
	out := make([]SecretInfo, 0, capacity)
	for i := uint64(0); i < n; i++ {
		var s SecretInfo
		if s.Name, err = r.String(); err != nil {
			return nil, err
		}
		if s.Version, err = r.U32(); err != nil {
			return nil, err
		}
		if s.UpdatedAt, err = r.U64(); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return ListResponse{Secrets: out}, nil
}
