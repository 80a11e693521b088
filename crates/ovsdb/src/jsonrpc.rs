//! JSON-RPC 1.0 as OVSDB uses it (RFC 7047 §4): requests carry a non-null `id`, responses echo
//! it with `result` and `error`, notifications are requests whose `id` is null.

use serde_json::{Map, Value, json};

use super::OvsdbError;

/// One message from the server, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The server asks something and waits for the answer (`echo`).
    Request {
        /// Its id, echoed in our response.
        id: Value,
        /// The method.
        method: String,
        /// The parameters (an array).
        params: Value,
    },
    /// The server tells something and wants no answer (`update`, `update2`).
    Notification {
        /// The method.
        method: String,
        /// The parameters (an array).
        params: Value,
    },
    /// The answer to one of our requests.
    Response {
        /// The id of our request.
        id: Value,
        /// `result` when `error` is null, else `error`.
        outcome: Result<Value, Value>,
    },
}

impl Message {
    /// Classifies one JSON value, refusing anything RFC 7047 does not allow.
    pub fn from_value(value: Value) -> Result<Self, OvsdbError> {
        let Value::Object(mut object) = value else {
            return Err(OvsdbError::malformed(format!("expected a JSON object, got {}", kind(&value))));
        };
        let id = object.remove("id").unwrap_or(Value::Null);
        match object.remove("method") {
            Some(Value::String(method)) => {
                let params = object.remove("params").unwrap_or(Value::Null);
                if !params.is_array() {
                    return Err(OvsdbError::malformed(format!(
                        "'{method}' has params that are not an array"
                    )));
                }
                Ok(if id.is_null() {
                    Message::Notification { method, params }
                } else {
                    Message::Request { id, method, params }
                })
            }
            Some(other) => Err(OvsdbError::malformed(format!("method is {}, not a string", kind(&other)))),
            None => Self::response(id, object),
        }
    }

    fn response(id: Value, mut object: Map<String, Value>) -> Result<Self, OvsdbError> {
        if id.is_null() {
            return Err(OvsdbError::malformed("a message with neither a method nor an id"));
        }
        let result = object.remove("result");
        let error = object.remove("error").unwrap_or(Value::Null);
        let outcome = match (result, error) {
            (_, error) if !error.is_null() => Err(error),
            (Some(result), _) => Ok(result),
            (None, _) => return Err(OvsdbError::malformed(format!("response {id} has no result"))),
        };
        Ok(Message::Response { id, outcome })
    }
}

/// The bytes of a request with a numeric id.
pub fn request(id: u64, method: &str, params: &Value) -> Vec<u8> {
    json!({"id": id, "method": method, "params": params}).to_string().into_bytes()
}

/// The bytes of a successful response to the server's request `id`.
pub fn response(id: &Value, result: &Value) -> Vec<u8> {
    json!({"id": id, "result": result, "error": null}).to_string().into_bytes()
}

/// The bytes of an error response to the server's request `id`.
pub fn error_response(id: &Value, error: &str) -> Vec<u8> {
    json!({"id": id, "result": null, "error": error}).to_string().into_bytes()
}

/// A JSON type's name, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]

    use super::*;

    #[test]
    fn classifies_the_three_kinds() {
        let echo = Message::from_value(json!({"id": "echo", "method": "echo", "params": []})).unwrap();
        assert_eq!(echo, Message::Request { id: json!("echo"), method: "echo".into(), params: json!([]) });

        let update =
            Message::from_value(json!({"id": null, "method": "update2", "params": [1, {}]})).unwrap();
        assert_eq!(update, Message::Notification { method: "update2".into(), params: json!([1, {}]) });

        let ok = Message::from_value(json!({"id": 3, "result": [{}], "error": null})).unwrap();
        assert_eq!(ok, Message::Response { id: json!(3), outcome: Ok(json!([{}])) });

        let failed =
            Message::from_value(json!({"id": 4, "result": null, "error": "unknown method"})).unwrap();
        assert_eq!(failed, Message::Response { id: json!(4), outcome: Err(json!("unknown method")) });
    }

    #[test]
    fn refuses_what_rfc_7047_does_not_allow() {
        for (value, expected) in [
            (json!([1, 2]), "expected a JSON object, got an array"),
            (json!({"method": 5, "id": 1}), "method is a number"),
            (json!({"method": "echo", "params": {}, "id": 1}), "params that are not an array"),
            (json!({"result": 1}), "neither a method nor an id"),
            (json!({"id": 9, "error": null}), "response 9 has no result"),
        ] {
            let error = Message::from_value(value).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn encodes_requests_and_responses() {
        let bytes = request(12, "transact", &json!(["Open_vSwitch"]));
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value, json!({"id": 12, "method": "transact", "params": ["Open_vSwitch"]}));

        let bytes = response(&json!("echo"), &json!([]));
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value, json!({"id": "echo", "result": [], "error": null}));

        let bytes = error_response(&json!(5), "unknown method");
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value, json!({"id": 5, "result": null, "error": "unknown method"}));
    }
}
