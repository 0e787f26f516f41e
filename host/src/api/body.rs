//! JSON request bodies whose rejections are problem documents that say
//! what to fix (the field and the line), not axum's plain-text ones.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with `Content-Type: application/json`",
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(Problem::invalid(
                format!("the body does not have the expected fields: {}", body_error(&e)),
                Vec::new(),
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(Problem::bad_request(format!(
                "the body is not valid JSON: {}",
                body_error(&e)
            ))),
            Err(JsonRejection::BytesRejection(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {} bytes", super::MAX_BODY_BYTES),
            )),
            Err(other) => Err(Problem::bad_request(other.body_text())),
        }
    }
}

/// serde's own words (field, line and column), without axum's prefix.
fn body_error(error: &dyn std::error::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
