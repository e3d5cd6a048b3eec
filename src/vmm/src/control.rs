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

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::state::VmState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Status,
    Shutdown,
    Stop,
    Pause,
    Resume,
    Wait,
}

impl std::str::FromStr for Command {
    type Err = String;
    /// A command by its name on the wire (`status`, `shutdown`, ...).
    fn from_str(name: &str) -> Result<Command, String> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
            format!("{name:?} is not one of status, shutdown, stop, pause, resume, wait")
        })
    }
}

impl Command {
    /// The request as sent on the socket, without its newline.
    pub fn request_line(self) -> String {
        serde_json::to_string(&Request { command: self }).unwrap_or_default()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    command: Command,
}

pub fn parse(line: &str) -> Result<Command, String> {
    serde_json::from_str::<Request>(line)
        .map(|r| r.command)
        .map_err(|e| format!("not a control request ({e}); expected {{\"command\":\"status|shutdown|stop|pause|resume|wait\"}}"))
}

/// Where the VM is in its life, as a reply reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Created,
    Running,
    Paused,
    Exited,
}

/// One answer on the control socket. `ok` false carries `error`; the other fields are present
/// where the command has them (`reason`, `exit_code` and `pid` once the VM has exited).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The VMM's pid in a `wait` answer, so a client can wait for the process to be gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// What a shutdown sent to the guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Reply {
    pub fn state(state: &VmState) -> Reply {
        match state {
            VmState::Created => Reply::in_state(State::Created),
            VmState::Running => Reply::in_state(State::Running),
            VmState::Paused => Reply::in_state(State::Paused),
            VmState::Exited { reason, exit_code } => Reply {
                reason: Some(reason.clone()),
                exit_code: Some(*exit_code),
                ..Reply::in_state(State::Exited)
            },
        }
    }

    pub fn in_state(state: State) -> Reply {
        Reply {
            ok: true,
            state: Some(state),
            ..Reply::default()
        }
    }

    pub fn error(msg: &str) -> Reply {
        Reply {
            ok: false,
            error: Some(msg.to_string()),
            ..Reply::default()
        }
    }

    /// Reads one answer line.
    pub fn parse(line: &str) -> Result<Reply, String> {
        serde_json::from_str(line.trim())
            .map_err(|e| format!("the VMM's answer is not a control reply ({e}): {line:?}"))
    }

    pub fn is_exited(&self) -> bool {
        self.state == Some(State::Exited)
    }

    /// The line sent on the socket, without its newline.
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a blocking control request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the VMM at {path}")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("the VMM accepted the request but did not answer within {0} s")]
    Timeout(u64),
    #[error("the VMM closed the socket without answering")]
    Closed,
    #[error("cannot talk to the VMM: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Garbled(String),
}

/// A blocking client for one request, for command-line tools. `timeout` bounds the answer of
/// every command but `wait`, which lasts as long as the VM.
pub fn request(socket: &Path, command: Command, timeout: Duration) -> Result<Reply, ClientError> {
    let mut stream = UnixStream::connect(socket).map_err(|source| ClientError::Connect {
        path: socket.display().to_string(),
        source,
    })?;
    if command != Command::Wait {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
    }
    writeln!(stream, "{}", command.request_line())?;
    let mut line = String::new();
    match BufReader::new(&stream).read_line(&mut line) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(ClientError::Timeout(timeout.as_secs()))
        }
        Err(e) => Err(e.into()),
        Ok(0) => Err(ClientError::Closed),
        Ok(_) => Reply::parse(&line).map_err(ClientError::Garbled),
    }
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
        for c in [
            Command::Status,
            Command::Shutdown,
            Command::Stop,
            Command::Pause,
            Command::Resume,
            Command::Wait,
        ] {
            assert_eq!(parse(&c.request_line()), Ok(c));
        }
        assert_eq!(Command::Stop.request_line(), r#"{"command":"stop"}"#);
        assert_eq!("resume".parse(), Ok(Command::Resume));
        assert!("Resume".parse::<Command>().is_err());
    }

    #[test]
    fn replies_read_back_as_sent() {
        assert_eq!(
            Reply::in_state(State::Running).line(),
            r#"{"ok":true,"state":"running"}"#
        );
        assert_eq!(Reply::error("no").line(), r#"{"ok":false,"error":"no"}"#);
        let exited = Reply::state(&VmState::Exited {
            reason: "guest rebooted".into(),
            exit_code: 3,
        });
        let waited = Reply {
            pid: Some(42),
            ..exited.clone()
        };
        for r in [exited, waited, Reply::state(&VmState::Paused)] {
            assert_eq!(Reply::parse(&r.line()), Ok(r));
        }
        let w = Reply::parse(r#"{"exit_code":3,"ok":true,"pid":7,"reason":"r","state":"exited"}"#)
            .unwrap();
        assert!(w.is_exited());
        assert_eq!((w.exit_code, w.pid), (Some(3), Some(7)));
        assert!(Reply::parse("garbage").is_err());
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
