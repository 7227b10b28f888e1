//! The canonical JSON form of messages used in the vectors' `value` field (PROTOCOL.md §9):
//! a flat object with `id`, `type` (the variant name) and the variant's fields; `null` for
//! `None`; error codes by name.

use std::borrow::Cow;

use ax_protocol::{
    ErrorCode, Request, RequestBody, Response, ResponseBody, SecretInfo, SecretText,
};
use serde_json::{Map, Value, json};

pub(crate) fn request_to_json(request: &Request<'_>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(request.id));
    out.insert("type".into(), json!(request.body.kind()));
    match &request.body {
        RequestBody::Hello {
            version,
            client,
            token,
        } => {
            out.insert("version".into(), json!(version));
            out.insert("client".into(), json!(client));
            out.insert(
                "token".into(),
                json!(token.as_ref().map(SecretText::expose)),
            );
        }
        RequestBody::Get { name } => {
            out.insert("name".into(), json!(name));
        }
        RequestBody::Render { template } => {
            out.insert("template".into(), json!(template.expose()));
        }
        RequestBody::Redact { text } => {
            out.insert("text".into(), json!(text.expose()));
        }
        RequestBody::List | RequestBody::Ping => {}
    }
    Value::Object(out)
}

pub(crate) fn response_to_json(response: &Response<'_>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(response.id));
    out.insert("type".into(), json!(response.body.kind()));
    match &response.body {
        ResponseBody::Hello {
            version,
            sidecar,
            execution_id,
        } => {
            out.insert("version".into(), json!(version));
            out.insert("sidecar".into(), json!(sidecar));
            out.insert("execution_id".into(), json!(execution_id));
        }
        ResponseBody::Secret { value } => {
            out.insert(
                "value".into(),
                json!(value.as_ref().map(SecretText::expose)),
            );
        }
        ResponseBody::List { secrets } => {
            let list: Vec<Value> = secrets
                .iter()
                .map(|s| {
                    json!({
                        "name": s.name,
                        "version": s.version,
                        "updated_at": s.updated_at,
                    })
                })
                .collect();
            out.insert("secrets".into(), Value::Array(list));
        }
        ResponseBody::Rendered { text, missing } => {
            out.insert("text".into(), json!(text.expose()));
            out.insert("missing".into(), json!(missing));
        }
        ResponseBody::Redacted { text, found } => {
            out.insert("text".into(), json!(text));
            out.insert("found".into(), json!(found));
        }
        ResponseBody::Error { code, message } => {
            out.insert("code".into(), json!(code.name()));
            out.insert("message".into(), json!(message));
        }
        ResponseBody::Pong => {}
    }
    Value::Object(out)
}

/// Reads a JSON object whose keys must be exactly `keys`.
struct Fields<'v> {
    map: &'v Map<String, Value>,
}

impl<'v> Fields<'v> {
    fn new(value: &'v Value, keys: &[&str]) -> Self {
        let map = value.as_object().expect("message value is an object");
        let mut have: Vec<&str> = map.keys().map(String::as_str).collect();
        let mut want = keys.to_vec();
        have.sort_unstable();
        want.sort_unstable();
        assert_eq!(have, want, "message keys");
        Self { map }
    }

    fn str(&self, key: &str) -> Cow<'static, str> {
        Cow::Owned(self.map[key].as_str().expect("string field").to_owned())
    }

    fn opt_str(&self, key: &str) -> Option<String> {
        match &self.map[key] {
            Value::Null => None,
            v => Some(v.as_str().expect("string or null").to_owned()),
        }
    }

    fn u64(&self, key: &str) -> u64 {
        self.map[key].as_u64().expect("unsigned integer field")
    }

    fn names(&self, key: &str) -> Vec<Cow<'static, str>> {
        self.map[key]
            .as_array()
            .expect("array field")
            .iter()
            .map(|v| Cow::Owned(v.as_str().expect("name").to_owned()))
            .collect()
    }
}

fn kind_of(value: &Value) -> &str {
    value["type"].as_str().expect("type is a string")
}

pub(crate) fn request_from_json(value: &Value) -> Request<'static> {
    let body = match kind_of(value) {
        "Hello" => {
            let f = Fields::new(value, &["id", "type", "version", "client", "token"]);
            RequestBody::Hello {
                version: u16::try_from(f.u64("version")).expect("u16"),
                client: f.str("client"),
                token: f.opt_str("token").map(SecretText::owned),
            }
        }
        "Get" => RequestBody::Get {
            name: Fields::new(value, &["id", "type", "name"]).str("name"),
        },
        "List" => {
            Fields::new(value, &["id", "type"]);
            RequestBody::List
        }
        "Render" => {
            let f = Fields::new(value, &["id", "type", "template"]);
            RequestBody::Render {
                template: SecretText::owned(f.str("template").into_owned()),
            }
        }
        "Redact" => {
            let f = Fields::new(value, &["id", "type", "text"]);
            RequestBody::Redact {
                text: SecretText::owned(f.str("text").into_owned()),
            }
        }
        "Ping" => {
            Fields::new(value, &["id", "type"]);
            RequestBody::Ping
        }
        other => panic!("unknown request type {other}"),
    };
    Request {
        id: id_of(value),
        body,
    }
}

fn id_of(value: &Value) -> u32 {
    u32::try_from(value["id"].as_u64().expect("id")).expect("id fits u32")
}

fn code_from_name(name: &str) -> ErrorCode {
    *ErrorCode::ALL
        .iter()
        .find(|c| c.name() == name)
        .expect("known error code")
}

pub(crate) fn response_from_json(value: &Value) -> Response<'static> {
    let body = match kind_of(value) {
        "Hello" => {
            let f = Fields::new(value, &["id", "type", "version", "sidecar", "execution_id"]);
            ResponseBody::Hello {
                version: u16::try_from(f.u64("version")).expect("u16"),
                sidecar: f.str("sidecar"),
                execution_id: f.str("execution_id"),
            }
        }
        "Secret" => {
            let f = Fields::new(value, &["id", "type", "value"]);
            ResponseBody::Secret {
                value: f.opt_str("value").map(SecretText::owned),
            }
        }
        "List" => {
            let f = Fields::new(value, &["id", "type", "secrets"]);
            let secrets = f.map["secrets"]
                .as_array()
                .expect("secrets array")
                .iter()
                .map(|s| {
                    let g = Fields::new(s, &["name", "version", "updated_at"]);
                    SecretInfo {
                        name: g.str("name"),
                        version: u32::try_from(g.u64("version")).expect("u32"),
                        updated_at: g.u64("updated_at"),
                    }
                })
                .collect();
            ResponseBody::List { secrets }
        }
        "Rendered" => {
            let f = Fields::new(value, &["id", "type", "text", "missing"]);
            ResponseBody::Rendered {
                text: SecretText::owned(f.str("text").into_owned()),
                missing: f.names("missing"),
            }
        }
        "Redacted" => {
            let f = Fields::new(value, &["id", "type", "text", "found"]);
            ResponseBody::Redacted {
                text: f.str("text"),
                found: f.names("found"),
            }
        }
        "Pong" => {
            Fields::new(value, &["id", "type"]);
            ResponseBody::Pong
        }
        "Error" => {
            let f = Fields::new(value, &["id", "type", "code", "message"]);
            ResponseBody::Error {
                code: code_from_name(&f.str("code")),
                message: f.str("message"),
            }
        }
        other => panic!("unknown response type {other}"),
    };
    Response {
        id: id_of(value),
        body,
    }
}
