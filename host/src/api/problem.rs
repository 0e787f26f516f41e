//! Errors as RFC 9457 problem documents (`application/problem+json`): a
//! status, a short title, a detail that says what to fix, and for invalid
//! input the field each problem is in.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::campaign_def::{CampaignDefError, FieldProblem};
use crate::store::StoreError;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where, as a path into the request body (`steps[0].subject`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` for plain HTTP ones).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP status's meaning, short.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened and what to do about it.
    pub detail: String,
    /// For invalid input: every field at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait before trying again (429).
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// Members particular to the problem, for programs (RFC 9457 §3.2):
    /// a lead's `current_state` and `allowed_moves`, say. (Boxed: most
    /// problems have none, and every handler's `Result` carries this type.)
    #[serde(flatten)]
    pub extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl Problem {
    /// A problem with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            extensions: None,
        }
    }

    /// The problem with the extension member `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<serde_json::Value>) -> Problem {
        self.extensions
            .get_or_insert_default()
            .insert(name.to_string(), value.into());
        self
    }

    /// 400: the request cannot be read.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 401: no token, or one that is not accepted. Says nothing about why.
    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "send a valid API token as `Authorization: Bearer cam_…` (create one with `cam tokens create`)",
        )
    }

    /// 403: the token's role may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404: no such thing for this tenant (whether it exists elsewhere is
    /// not said).
    pub fn not_found(what: &str) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, format!("no such {what}"))
    }

    /// 422 with the fields at fault.
    pub fn invalid(detail: impl Into<String>, errors: Vec<FieldError>) -> Problem {
        Problem {
            errors,
            ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
        }
    }

    /// 422 for one field: `message` says what is wrong with `field`.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Problem {
        let message = message.into();
        Problem::invalid(
            format!("{field}: {message}"),
            vec![FieldError {
                field: field.to_string(),
                message,
            }],
        )
    }

    /// 500 for an `anyhow` error (logged with its chain).
    pub fn internal_anyhow(error: &anyhow::Error) -> Problem {
        let error: &dyn std::error::Error = error.as_ref();
        Problem::internal(error)
    }

    /// 500, logged; the detail given to the client names no internals.
    pub fn internal(error: &dyn std::error::Error) -> Problem {
        tracing::error!(error = %crate::pipeline::error::chain(error), "API request failed");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request; it was logged, try again later",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Problem {
        match &error {
            StoreError::NotFound { entity, .. } => Problem::not_found(entity),
            StoreError::Duplicate { entity, key } => {
                Problem::new(StatusCode::CONFLICT, format!("a {entity} named {key:?} exists already"))
            }
            StoreError::Conflict(detail) => Problem::new(StatusCode::CONFLICT, detail.clone()),
            _ => Problem::internal(&error),
        }
    }
}

impl Problem {
    /// 422 listing `problems` by field, under `detail`.
    pub fn fields(detail: impl Into<String>, problems: Vec<FieldProblem>) -> Problem {
        Problem::invalid(
            detail,
            problems
                .into_iter()
                .map(|p| FieldError {
                    field: p.field,
                    message: p.message,
                })
                .collect(),
        )
    }
}

impl From<CampaignDefError> for Problem {
    fn from(error: CampaignDefError) -> Problem {
        match error {
            CampaignDefError::Invalid { name, problems } => Problem::fields(
                format!("campaign {name:?} is invalid; fix the fields listed in `errors`"),
                problems,
            ),
            other => Problem::invalid(other.to_string(), Vec::new()),
        }
    }
}
