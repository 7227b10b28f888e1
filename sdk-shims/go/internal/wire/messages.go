package wire

// The messages of protocol v2 (PROTOCOL.md §3). Enum order is the wire format: the tag
// constants list the variants in order, and only ever grow with a new protocol version.

// Request tags.
const (
	TagHello uint32 = iota
	TagGet
	TagList
	TagRender
	TagRedact
	TagPing
	requestTags
)

// Response tags.
const (
	TagHelloResponse uint32 = iota
	TagSecret
	TagListResponse
	TagRendered
	TagRedacted
	TagPong
	TagError
	responseTags
)

// Request is a request: a client-chosen ID the response echoes, and its body.
type Request struct {
	ID   uint32
	Body RequestBody
}

// RequestBody is one of the request types below.
type RequestBody interface{ RequestTag() uint32 }

// HelloRequest (tag 0) is the handshake, the first request on every connection.
type HelloRequest struct {
	Version uint16
	Client  string
	Token   *string // nil: no token
}

// GetRequest (tag 1) asks for one secret by name.
type GetRequest struct{ Name string }

// ListRequest (tag 2) asks for the metadata of every secret.
type ListRequest struct{}

// RenderRequest (tag 3) asks to expand {{secrets.NAME}} references.
type RenderRequest struct{ Template string }

// RedactRequest (tag 4) asks to replace every value in a text with ***.
type RedactRequest struct{ Text string }

// PingRequest (tag 5) checks liveness.
type PingRequest struct{}

// RequestTag is the request's wire tag.
func (HelloRequest) RequestTag() uint32 { return TagHello }

// RequestTag is the request's wire tag.
func (GetRequest) RequestTag() uint32 { return TagGet }

// RequestTag is the request's wire tag.
func (ListRequest) RequestTag() uint32 { return TagList }

// RequestTag is the request's wire tag.
func (RenderRequest) RequestTag() uint32 { return TagRender }

// RequestTag is the request's wire tag.
func (RedactRequest) RequestTag() uint32 { return TagRedact }

// RequestTag is the request's wire tag.
func (PingRequest) RequestTag() uint32 { return TagPing }

// Response is a response: the ID of the request it answers, and its body.
type Response struct {
	ID   uint32
	Body ResponseBody
}

// ResponseBody is one of the response types below.
type ResponseBody interface{ ResponseTag() uint32 }

// HelloResponse (tag 0): the handshake was accepted.
type HelloResponse struct {
	Version     uint16
	Sidecar     string
	ExecutionID string
}

// SecretResponse (tag 1) answers Get; Found is false for None (not found).
type SecretResponse struct {
	Value string
	Found bool
}

// SecretInfo is one secret's metadata in a ListResponse; never its value, and nothing that
// tells an override from a tenant value (protocol v1 had a source field).
type SecretInfo struct {
	Name      string
	Version   uint32
	UpdatedAt uint64
}

// ListResponse (tag 2) answers List, sorted by name.
type ListResponse struct{ Secrets []SecretInfo }

// RenderedResponse (tag 3) answers Render.
type RenderedResponse struct {
	Text    string
	Missing []string
}

// RedactedResponse (tag 4) answers Redact.
type RedactedResponse struct {
	Text  string
	Found []string
}

// PongResponse (tag 5) answers Ping.
type PongResponse struct{}

// ErrorCode is the code of an ErrorResponse.
type ErrorCode uint8

// The error codes, in tag order.
const (
	BadRequest ErrorCode = iota
	UnsupportedVersion
	Unauthorized
	TooLarge
	ShuttingDown
	Internal
	HandshakeRequired
	Busy
	errorCodes
)

var errorCodeNames = [...]string{
	"BadRequest", "UnsupportedVersion", "Unauthorized", "TooLarge", "ShuttingDown",
	"Internal", "HandshakeRequired", "Busy",
}

// String is the code's name, e.g. "Unauthorized".
func (c ErrorCode) String() string {
	if int(c) < len(errorCodeNames) {
		return errorCodeNames[c]
	}
	return "ErrorCode(?)"
}

// ParseErrorCode is the code of a name, for the vectors' canonical JSON.
func ParseErrorCode(name string) (ErrorCode, bool) {
	for i, n := range errorCodeNames {
		if n == name {
			return ErrorCode(i), true
		}
	}
	return 0, false
}

// ErrorResponse (tag 6) is a refused request.
type ErrorResponse struct {
	Code    ErrorCode
	Message string
}

// ResponseTag is the response's wire tag.
func (HelloResponse) ResponseTag() uint32 { return TagHelloResponse }

// ResponseTag is the response's wire tag.
func (SecretResponse) ResponseTag() uint32 { return TagSecret }

// ResponseTag is the response's wire tag.
func (ListResponse) ResponseTag() uint32 { return TagListResponse }

// ResponseTag is the response's wire tag.
func (RenderedResponse) ResponseTag() uint32 { return TagRendered }

// ResponseTag is the response's wire tag.
func (RedactedResponse) ResponseTag() uint32 { return TagRedacted }

// ResponseTag is the response's wire tag.
func (PongResponse) ResponseTag() uint32 { return TagPong }

// ResponseTag is the response's wire tag.
func (ErrorResponse) ResponseTag() uint32 { return TagError }

var responseNames = [...]string{
	"Hello", "Secret", "List", "Rendered", "Redacted", "Pong", "Error",
}

var requestNames = [...]string{"Hello", "Get", "List", "Render", "Redact", "Ping"}

// ResponseName is the variant name of a response tag, e.g. "Secret".
func ResponseName(tag uint32) string {
	if int(tag) < len(responseNames) {
		return responseNames[tag]
	}
	return "?"
}

// RequestName is the variant name of a request tag, e.g. "Get".
func RequestName(tag uint32) string {
	if int(tag) < len(requestNames) {
		return requestNames[tag]
	}
	return "?"
}
