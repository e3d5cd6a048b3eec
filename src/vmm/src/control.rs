//! The control socket: one JSON object per line in, one per line out.
//!
//! ```text
//! {"command":"status"}    -> {"ok":true,"state":"running"}
//!                            {"ok":true,"state":"exited","reason":"...","exit_code":3}
//! {"command":"shutdown"}  -> Ctrl-Alt-Del to the guest; the VM exits 0 when the guest resets
//! {"command":"stop"}      -> ends the VM at once (exit code 5)
//! {"command":"pause"} / {"command":"resume"}
//! {"command":"wait"}      -> no answer until the VM ends, then its final status:
//!                            {"ok":true,"state":"exited","reason":"guest rebooted (...)","exit_code":3,"pid":N}
//!                            (the process exits right after; pid lets a client wait for that)
//! ```
//! The socket disappears when the VMM exits; `wait` is how a client learns why.
//! Errors: {"ok":false,"error":"..."}.

use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Status,
    Shutdown,
    Stop,
    Pause,
    Resume,
    Wait,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    command: Command,
}

pub fn parse(line: &str) -> Result<Command, String> {
    serde_json::from_str::<Request>(line)
        .map(|r| r.command)
        .map_err(|e| format!("not a control request ({e}); expected {{\"command\":\"status|shutdown|stop|pause|resume|wait\"}}"))
}

pub fn ok(extra: Value) -> String {
    let mut v = json!({"ok": true});
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v.to_string()
}

pub fn error(msg: &str) -> String {
    json!({"ok": false, "error": msg}).to_string()
}

/// Splits complete lines off a connection's input buffer; refuses a line longer than `max`.
pub fn take_lines(buf: &mut Vec<u8>, max: usize) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = buf.drain(..=pos).collect();
        lines.push(String::from_utf8_lossy(&line[..pos]).trim().to_string());
    }
    if buf.len() > max {
        return Err(format!("request longer than {max} bytes"));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(parse(r#"{"command":"status"}"#), Ok(Command::Status));
        assert_eq!(parse(r#"{"command":"pause"}"#), Ok(Command::Pause));
        assert_eq!(parse(r#"{"command":"wait"}"#), Ok(Command::Wait));
        assert!(parse(r#"{"command":"explode"}"#).is_err());
        assert!(parse(r#"{"command":"stop","force":1}"#).is_err());
        assert_eq!(
            ok(json!({"state":"running"})),
            r#"{"ok":true,"state":"running"}"#
        );
    }

    #[test]
    fn lines() {
        let mut b = b"{\"a\":1}\n{\"b\"".to_vec();
        assert_eq!(take_lines(&mut b, 100).unwrap(), vec!["{\"a\":1}"]);
        assert_eq!(b, b"{\"b\"");
        let mut long = vec![b'x'; 200];
        assert!(take_lines(&mut long, 100).is_err());
    }
}
