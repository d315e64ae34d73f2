use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;

use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::AppState;

#[derive(Deserialize)]
pub struct Reveal {
    reveal: Option<String>,
}

type Vars = Json<BTreeMap<String, String>>;

/// Values are masked unless `?reveal=1`.
pub async fn show(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>, Query(q): Query<Reveal>) -> ApiResult<Vars> {
    let reveal = matches!(q.reveal.as_deref(), Some("1" | "true"));
    Ok(Json(s.services.env(&a, &slug, reveal).await?))
}

/// Replaces the whole set.
pub async fn replace(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>, Body(b): Body<BTreeMap<String, String>>) -> ApiResult<Vars> {
    let vars = b.into_iter().map(|(k, v)| (k, Some(v))).collect();
    Ok(Json(s.services.write_env(&a, &slug, vars, true).await?))
}

/// Merges; `null` deletes a key.
pub async fn merge(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>, Body(b): Body<BTreeMap<String, Option<String>>>) -> ApiResult<Vars> {
    Ok(Json(s.services.write_env(&a, &slug, b, false).await?))
}
