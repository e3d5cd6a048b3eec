//! The instance metadata options (HttpEndpoint, HttpTokens, HttpPutResponseHopLimit,
//! InstanceMetadataTags), shared with ModifyInstanceMetadataOptions.

use super::*;

/// Checks metadata options; returns (endpoint, tokens, hop limit, tags).
pub fn check_metadata(
    m: &MetadataOptions,
    current: Option<(&str, &str, i64, &str)>,
) -> Result<(String, String, i64, String)> {
    let (e, t, h, g) = current.unwrap_or(("enabled", "optional", 1, "disabled"));
    let endpoint = one_of(
        "HttpEndpoint",
        m.http_endpoint.as_deref(),
        &["enabled", "disabled"],
        "InvalidHttpEndpoint.NotSupported",
        400,
        e,
    )?;
    let tokens = one_of(
        "HttpTokens",
        m.http_tokens.as_deref(),
        &["optional", "required"],
        "InvalidHttpTokens.NotSupported",
        400,
        t,
    )?;
    let hops = m.http_put_response_hop_limit.unwrap_or(h);
    if !(1..=64).contains(&hops) {
        return Err(Error::bad_request("InvalidHttpPutResponseHopLimit.NotSupported", format!("The specified HttpPutResponseHopLimit {hops} not supported, more than 1 and less than 64 is reasonable.")));
    }
    let tags = one_of(
        "InstanceMetadataTags",
        m.instance_metadata_tags.as_deref(),
        &["enabled", "disabled"],
        "InvalidParameter",
        400,
        g,
    )?;
    Ok((endpoint, tokens, hops, tags))
}
