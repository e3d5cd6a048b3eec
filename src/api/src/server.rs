//! One handler for every request: collect parameters, authenticate, dispatch on product version
//! and action, render. Errors render themselves in the same format as a success would.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{json, Value};

use hearth_cloud::{ids, Cloud, Error};

use crate::auth::{Authenticator, Request};
use crate::encode::{self, Format};
use crate::params::Params;

#[derive(Clone)]
pub struct ApiState {
    pub cloud: Cloud,
    pub auth: Arc<Authenticator>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", any(handle))
        .fallback(any(handle))
        .with_state(state)
}

/// The largest request body accepted (a 16 KiB UserData, Base64 and form-encoded, fits easily).
const MAX_BODY: usize = 1 << 20;

async fn handle(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if crate::cvm::is_tencent(&headers) {
        return crate::cvm::handle(&state, method, uri, headers, body).await;
    }
    let request_id = ids::new_request_id();
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let body_pairs: Vec<(String, String)> = if is_form && body.len() <= MAX_BODY {
        form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let params = Params::from_pairs(query.iter().cloned().chain(body_pairs));
    let format = Format::from_param(params.opt("Format"));

    let outcome = if body.len() > MAX_BODY {
        Err(Error::bad_request(
            "InvalidParameter",
            format!("The request body is larger than {MAX_BODY} bytes."),
        ))
    } else {
        let req = Request {
            method: method.as_str(),
            path: uri.path(),
            query: &query,
            headers: &headers,
            body: &body,
            params: &params,
        };
        process(&state, &req).await
    };

    match outcome {
        Ok((action, mut value)) => {
            if let Value::Object(map) = &mut value {
                map.shift_insert(0, "RequestId".into(), Value::String(request_id));
            }
            respond(
                StatusCode::OK,
                format,
                encode::render(&value, &format!("{action}Response"), format),
            )
        }
        Err(e) => {
            tracing::debug!(code = %e.code, message = %e.message, "request refused");
            let body = json!({
                "RequestId": request_id,
                "HostId": headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("hearth"),
                "Code": e.code,
                "Message": e.message,
                "Recommend": "",
            });
            let status =
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            respond(status, format, encode::render(&body, "Error", format))
        }
    }
}

async fn process(state: &ApiState, req: &Request<'_>) -> Result<(String, Value), Error> {
    let caller = state.auth.verify(req, chrono::Utc::now())?;
    let action = match caller.action {
        Some(a) => a,
        None => req.params.required("Action")?.to_string(),
    };
    let version = match caller.version {
        Some(v) => v,
        None => req.params.required("Version")?.to_string(),
    };
    let value = crate::ecs::dispatch(&state.cloud, &version, &action, req.params).await?;
    Ok((action, value))
}

fn respond(status: StatusCode, format: Format, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}
