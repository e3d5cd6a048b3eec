//! UserData: Base64 on the wire, decoded and size-checked before it is stored, and the limits
//! each action allows.

use base64::Engine;

use crate::{Error, Result};

/// The most a stored UserData may hold: CreateInstance and ModifyInstanceAttribute 32 KiB
/// (seed 001), RunInstances 16 KiB (its seed).
pub fn limit(run: bool) -> usize {
    if run {
        16 * 1024
    } else {
        32 * 1024
    }
}

/// Decodes UserData: Base64 (`InvalidUserData.Base64FormatInvalid`, 403, as the seeds list it),
/// at most `max` bytes decoded (`InvalidUserData.SizeExceeded`).
pub fn decode(encoded: &str, max: usize) -> Result<Vec<u8>> {
    let cleaned: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let data = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|_| {
            Error::forbidden(
                "InvalidUserData.Base64FormatInvalid",
                "The specified UserData is not valid: it must be Base64-encoded.",
            )
        })?;
    if data.len() > max {
        return Err(Error::bad_request(
            "InvalidUserData.SizeExceeded",
            format!("The specified parameter \"UserData\" exceeds the size: {} bytes decoded, at most {max}.", data.len()),
        ));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code_of as code;

    #[test]
    fn base64_and_size() {
        assert_eq!(decode("ZWNobyBoaQ==", 16 * 1024).unwrap(), b"echo hi");
        assert_eq!(
            code(decode("not base64!", 100)),
            ("InvalidUserData.Base64FormatInvalid".into(), 403)
        );
        let big = base64::engine::general_purpose::STANDARD.encode(vec![b'a'; 16 * 1024 + 1]);
        assert_eq!(
            code(decode(&big, 16 * 1024)),
            ("InvalidUserData.SizeExceeded".into(), 400)
        );
    }
}
