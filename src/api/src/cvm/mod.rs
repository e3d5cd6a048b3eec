//! The Tencent Cloud API 3.0 dialect: CVM and VPC (both version 2017-03-12) on the same port as
//! ECS, chosen by the request (an X-TC-Action header or a TC3-HMAC-SHA256 Authorization).
//! JSON bodies in, `{"Response": {..., "RequestId"}}` out; errors are
//! `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}` with HTTP 200 and a Content-Type
//! of exactly `application/json` (tencentcloud-sdk-python treats any other status as a network
//! error, and skips the error envelope under any other Content-Type). The service comes from
//! the signature's credential scope (`.../cvm/tc3_request` or `.../vpc/tc3_request`).

mod catalog;
mod instances;
pub mod tc3;
mod vpcs;

use std::future::Future;
use std::pin::Pin;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hearth_cloud::cvm::errors::Service;
use hearth_cloud::{ids, Cloud, Error, Result};
use serde_json::{json, Value};

use crate::params::Params;
use crate::server::ApiState;

pub const VERSION: &str = "2017-03-12";
/// The largest body accepted (a 16 KiB UserData in Base64 fits easily).
const MAX_BODY: usize = 1 << 20;

/// Whether a request speaks this dialect.
pub fn is_tencent(headers: &HeaderMap) -> bool {
    headers.contains_key("x-tc-action")
        || headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(tc3::ALGORITHM))
}

/// What every handler gets besides the parameters.
pub struct Context {
    /// X-TC-Region, checked against the host's region.
    pub region: String,
}

type Reply<'a> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

struct Area {
    actions: &'static [&'static str],
    call: for<'a> fn(&'a Cloud, &'a Context, &'a str, &'a Params) -> Reply<'a>,
}

fn areas(service: &str) -> Option<&'static [Area]> {
    static CVM: &[Area] = &[
        Area {
            actions: catalog::ACTIONS,
            call: |c, x, a, p| Box::pin(catalog::call(c, x, a, p)),
        },
        Area {
            actions: instances::ACTIONS,
            call: |c, x, a, p| Box::pin(instances::call(c, x, a, p)),
        },
    ];
    static VPC: &[Area] = &[Area {
        actions: vpcs::ACTIONS,
        call: |c, x, a, p| Box::pin(vpcs::call(c, x, a, p)),
    }];
    match service {
        "cvm" => Some(CVM),
        "vpc" => Some(VPC),
        _ => None,
    }
}

/// `UnknownParameter` for the first top-level parameter not in `known` (Tencent refuses
/// parameters an action does not have, rather than ignoring them).
pub fn only(p: &Params, known: &[&str]) -> Result<()> {
    match p.top_level_names().into_iter().find(|n| !known.contains(n)) {
        None => Ok(()),
        Some(n) => Err(Error::bad_request(
            "UnknownParameter",
            format!("The parameter \"{n}\" is not a parameter of this action."),
        )),
    }
}

/// Translates an error from the shared rules into CVM's codes for `service`.
pub fn cvm_error(service: Service) -> impl Fn(Error) -> Error {
    move |e| hearth_cloud::cvm::errors::translate(service, e)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

async fn process(
    state: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value> {
    if body.len() > MAX_BODY {
        return Err(Error::bad_request(
            "RequestSizeLimitExceeded",
            format!("The request body is larger than {MAX_BODY} bytes."),
        ));
    }
    let authorization = header(headers, "authorization").ok_or_else(|| {
        Error::bad_request(
            "AuthFailure.SignatureFailure",
            "The request is not signed: send an Authorization header (TC3-HMAC-SHA256).",
        )
    })?;
    let auth = tc3::parse_authorization(authorization)?;
    let timestamp = header(headers, "x-tc-timestamp")
        .ok_or_else(|| Error::missing_parameter("X-TC-Timestamp"))?;
    tc3::check_time(timestamp, &auth.date, chrono::Utc::now().timestamp())?;
    let secret = state.auth.keys().secret(&auth.secret_id).ok_or_else(|| {
        Error::bad_request(
            "AuthFailure.SecretIdNotFound",
            format!("The SecretId {:?} is not found: use the access key ID of this hearth (HEARTH_ACCESS_KEY_ID or `hearth credentials`).", auth.secret_id),
        )
    })?;
    let signed = tc3::Signed {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers,
        body,
        timestamp,
    };
    tc3::verify(&signed, &auth, secret)?;
    let action =
        header(headers, "x-tc-action").ok_or_else(|| Error::missing_parameter("X-TC-Action"))?;
    let version =
        header(headers, "x-tc-version").ok_or_else(|| Error::missing_parameter("X-TC-Version"))?;
    let areas = areas(&auth.service).ok_or_else(|| {
        Error::bad_request(
            "InvalidAction",
            format!(
                "The service {:?} is not offered here: use cvm or vpc.",
                auth.service
            ),
        )
    })?;
    if version != VERSION {
        return Err(Error::bad_request(
            "NoSuchVersion",
            format!(
                "The version {version:?} of {} does not exist: use {VERSION}.",
                auth.service
            ),
        ));
    }
    let area = areas
        .iter()
        .find(|a| a.actions.contains(&action))
        .ok_or_else(|| {
            Error::bad_request(
                "InvalidAction",
                format!(
                    "The action {action:?} does not exist in {} {VERSION}.",
                    auth.service
                ),
            )
        })?;
    let region = header(headers, "x-tc-region")
        .ok_or_else(|| Error::missing_parameter("Region"))?
        .to_string();
    if region != state.cloud.config.region.id {
        return Err(Error::bad_request(
            "UnsupportedRegion",
            format!(
                "The region {region:?} (X-TC-Region) is not served here: this host serves {:?}.",
                state.cloud.config.region.id
            ),
        ));
    }
    // POST carries a JSON body; GET (HttpProfile reqMethod="GET") the parameters in the query.
    let params = match *method {
        Method::POST => {
            let json: Value = if body.iter().all(u8::is_ascii_whitespace) {
                json!({})
            } else {
                serde_json::from_slice(body).map_err(|e| {
                    Error::bad_request(
                        "InvalidParameter",
                        format!("The request body is not valid JSON: {e}."),
                    )
                })?
            };
            Params::from_json(&json)?
        }
        Method::GET => Params::from_zero_based_pairs(
            form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned(),
        ),
        _ => {
            return Err(Error::bad_request(
                "UnsupportedProtocol",
                format!(
                    "The HTTP method {method} is not supported: use POST with a JSON body, or GET."
                ),
            ))
        }
    };
    let ctx = Context { region };
    (area.call)(&state.cloud, &ctx, action, &params).await
}

/// Answers one Tencent Cloud API request: always HTTP 200, `application/json`.
pub async fn handle(
    state: &ApiState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Tencent's request IDs are lower-case UUIDs.
    let request_id = ids::new_request_id().to_ascii_lowercase();
    let inner = match process(state, &method, &uri, &headers, &body).await {
        Ok(Value::Object(mut map)) => {
            map.insert("RequestId".into(), Value::String(request_id));
            Value::Object(map)
        }
        Ok(_) => json!({"RequestId": request_id}),
        Err(e) => {
            tracing::debug!(code = %e.code, message = %e.message, "request refused");
            json!({"Error": {"Code": e.code, "Message": e.message}, "RequestId": request_id})
        }
    };
    let mut response = (StatusCode::OK, json!({ "Response": inner }).to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Filters.N.Name / Filters.N.Values.M as (name, values), names checked against `known`
/// (`tag:` in `known` admits every `tag:<key>`); an unknown name is `InvalidFilter`.
pub fn filters(p: &Params, known: &[&str]) -> Result<Vec<(String, Vec<String>)>> {
    filters_with_code(p, known, "InvalidFilter")
}

/// [`filters`] with the service's code for an unknown filter name.
pub fn filters_with_code(
    p: &Params,
    known: &[&str],
    unknown_code: &str,
) -> Result<Vec<(String, Vec<String>)>> {
    let mut out = Vec::new();
    for (n, fields) in p.objects("Filters")? {
        let name = fields
            .get("Name")
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| Error::missing_parameter(&format!("Filters.{n}.Name")))?;
        let admitted =
            known.contains(&name.as_str()) || (name.starts_with("tag:") && known.contains(&"tag:"));
        if !admitted {
            return Err(Error::bad_request(
                unknown_code,
                format!(
                    "The filter {name:?} (Filters.{n}.Name) is not supported: use one of {}.",
                    known.join(", ")
                ),
            ));
        }
        let mut values: Vec<(u32, String)> = fields
            .iter()
            .filter_map(|(k, v)| {
                let i = k.strip_prefix("Values.")?.parse::<u32>().ok()?;
                Some((i, v.clone()))
            })
            .collect();
        values.sort();
        out.push((name, values.into_iter().map(|(_, v)| v).collect()));
    }
    Ok(out)
}

/// Tencent's Offset/Limit as a page; Limit `default` when not given, at most `max`.
pub fn window(p: &Params, default: u32, max: u32) -> Result<hearth_cloud::paging::Page> {
    hearth_cloud::paging::Page::window(p.int("Offset")?, p.int("Limit")?, default, max)
}

/// The one value of a filter that hearth matches on a single value; `None` when not given.
pub fn single(filters: &[(String, Vec<String>)], name: &str) -> Result<Option<String>> {
    let mut found = None;
    for (n, values) in filters.iter().filter(|(n, _)| n == name) {
        if values.len() != 1 || found.is_some() {
            return Err(Error::bad_request(
                "InvalidParameterValue.LimitExceeded",
                format!(
                    "The filter {n:?} takes exactly one value here, got {}.",
                    values.len()
                ),
            ));
        }
        found = values.first().cloned();
    }
    Ok(found)
}

/// Every value given for filter `name` (several filters of one name intersect: all values
/// must be in each, so the values of the first are kept and narrowed by the others).
pub fn values(filters: &[(String, Vec<String>)], name: &str) -> Option<Vec<String>> {
    let mut out: Option<Vec<String>> = None;
    for (_, v) in filters.iter().filter(|(n, _)| n == name) {
        out = Some(match out {
            None => v.clone(),
            Some(prev) => prev.into_iter().filter(|x| v.contains(x)).collect(),
        });
    }
    out
}

/// Tag filters: `tag-key` (any value) and `tag:<key>` (one of the values; one value here).
pub fn tag_filters(filters: &[(String, Vec<String>)]) -> Result<Vec<hearth_cloud::tags::Tag>> {
    let mut tags = Vec::new();
    for (name, values) in filters {
        if name == "tag-key" {
            for key in values {
                tags.push(hearth_cloud::tags::Tag {
                    key: key.clone(),
                    value: String::new(),
                });
            }
        } else if let Some(key) = name.strip_prefix("tag:") {
            let value = single(filters, name)?.unwrap_or_default();
            tags.push(hearth_cloud::tags::Tag {
                key: key.to_string(),
                value,
            });
        }
    }
    Ok(tags)
}

/// Intersects an ID list parameter with an ID filter's values; `None` when neither is given.
pub fn ids(given: Vec<String>, filtered: Option<Vec<String>>) -> Option<Vec<String>> {
    match (given.is_empty(), filtered) {
        (true, None) => None,
        (true, Some(f)) => Some(f),
        (false, None) => Some(given),
        (false, Some(f)) => Some(given.into_iter().filter(|i| f.contains(i)).collect()),
    }
}

/// Tags as Tencent writes them: `[{"Key", "Value"}]`.
pub fn tags_json(tags: &[hearth_cloud::tags::Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

/// `Tags.N.Key` / `Tags.N.Value` (CreateVpc, CreateSubnet), checked by the shared tag rules.
pub fn request_tags(p: &Params, service: Service) -> Result<Vec<hearth_cloud::tags::Tag>> {
    let raw = p
        .objects("Tags")?
        .into_iter()
        .map(|(n, mut f)| (n, f.remove("Key"), f.remove("Value")))
        .collect::<Vec<_>>();
    hearth_cloud::tags::validate(&raw).map_err(cvm_error(service))
}
