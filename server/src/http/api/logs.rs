//! Logs over server-sent events: the newest lines first (capped; an `older` event says older ones
//! exist), then live lines. Each line event has `id: <seq>` so a reconnecting EventSource resumes
//! after `Last-Event-ID` without duplicates. `?before=<seq>[&limit=<n>]` answers a JSON page of
//! older lines instead. A user follows at most `log_streams_per_user` streams at a time (429).

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::logs::{LogEvent, StreamPermit, Subscription};
use domain::model::LogLine;
use domain::access::Actor;
use domain::{Error, Services};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::http::auth::Caller;
use crate::http::error::{error_response, ApiResult};
use crate::http::path::IdPath;
use crate::http::AppState;

/// History lines sent when a stream opens.
const BUILD_HISTORY: usize = 2_000;
const RUNTIME_HISTORY: usize = 1_000;
/// Lines per `?before=` page: default and maximum.
const PAGE_DEFAULT: usize = 500;
const PAGE_MAX: usize = 2_000;

type Events = mpsc::Sender<Result<Event, Infallible>>;

fn line_event(l: &LogLine) -> Event {
    Event::default().event("line").id(l.seq.to_string()).data(serde_json::to_string(l).unwrap_or_default())
}

fn last_event_id(h: &HeaderMap) -> i64 {
    h.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// `GET /api/v1/deployments/{id}/logs`: closes with `event: end` once the deployment is final.
pub async fn build(
    State(s): State<AppState>,
    Caller(a): Caller,
    IdPath(id): IdPath,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let channel = s.services.deployment_log(&a, id).await?;
    open(&s.services, &a, &channel, Some(id), BUILD_HISTORY, &query, &headers).await
}

/// `GET /api/v1/apps/{slug}/logs`: the app's stdout/stderr, recent history first.
pub async fn runtime(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let channel = s.services.app_log(&a, &slug).await?;
    open(&s.services, &a, &channel, None, RUNTIME_HISTORY, &query, &headers).await
}

async fn open(
    services: &Services,
    actor: &Actor,
    channel: &str,
    deployment: Option<i64>,
    history: usize,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    if let Some(before) = query.get("before") {
        return page(services, channel, before, query.get("limit")).await;
    }
    let Some(permit) = services.logs.open_stream(actor.user.id) else {
        let max = services.logs.streams_per_user();
        let msg = format!("too many open log streams: at most {max} per user at a time; close another log view and try again");
        return Ok(error_response(StatusCode::TOO_MANY_REQUESTS, msg));
    };
    let sub = services.logs.subscribe(channel, history).await?;
    let (tx, rx) = mpsc::channel(512);
    let follow = Follow { services: services.clone(), actor: actor.clone(), channel: channel.to_owned(), deployment, last: last_event_id(headers), lagged: false, tx };
    tokio::spawn(follow.run(sub, permit));
    let stream = ReceiverStream::new(rx);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// `?before=<seq>&limit=<n>`: `{"lines": [...oldest first], "older": bool}`.
async fn page(services: &Services, channel: &str, before: &str, limit: Option<&String>) -> ApiResult<Response> {
    let before: i64 = before.parse().ok().filter(|b| *b >= 0).ok_or_else(|| Error::invalid("before", "must be a line number"))?;
    let limit = match limit {
        None => PAGE_DEFAULT,
        Some(l) => l.parse().ok().filter(|l| (1..=PAGE_MAX).contains(l)).ok_or_else(|| Error::invalid("limit", format!("must be a number from 1 to {PAGE_MAX}")))?,
    };
    let mut lines = services.logs.page(channel, Some(before), limit + 1).await?;
    let older = lines.len() > limit;
    if older {
        lines.remove(0);
    }
    Ok(Json(serde_json::json!({ "lines": lines, "older": older })).into_response())
}

/// Rhone's own lines of a deployment sent ahead of a capped history.
const STAGES: usize = 200;

struct Follow {
    services: Services,
    /// Asked again at each status check: a member removed meanwhile sees the stream end.
    actor: Actor,
    channel: String,
    deployment: Option<i64>,
    /// The last sequence number the client has.
    last: i64,
    /// The client was just told how many lines it skipped (the live feed lagged).
    lagged: bool,
    tx: Events,
}

impl Follow {
    async fn send(&self, event: Event) -> Result<(), ()> {
        self.tx.send(Ok(event)).await.map_err(|_| ())
    }

    /// Sends `lines` (ordered by seq) after `self.last`, first saying how many were left out.
    async fn send_lines(&mut self, lines: &[LogLine]) -> Result<(), ()> {
        let after = self.last;
        let lines = &lines[lines.partition_point(|l| l.seq <= after)..];
        let gap_noted = std::mem::take(&mut self.lagged);
        if let Some(first) = lines.first() {
            if !gap_noted && after > 0 && first.seq > after + 1 {
                self.send(Event::default().event("skipped").data((first.seq - after - 1).to_string())).await?;
            }
        }
        for l in lines {
            self.send(line_event(l)).await?;
            self.last = l.seq;
        }
        Ok(())
    }

    async fn is_final(&self) -> bool {
        match self.deployment {
            // `live` comes before the end of the pipeline (drain, watch): follow until that too
            Some(id) => {
                let finished = self.services.deployment(&self.actor, id).await.map(|d| d.status.build_finished()).unwrap_or(true);
                finished && !self.services.deployment_running(id)
            }
            None => false,
        }
    }

    /// Streams until the client goes away or the deployment ends; `_permit` holds the user's slot.
    async fn run(mut self, sub: Subscription, _permit: StreamPermit) {
        let Subscription { history, older, ended, mut live } = sub;
        if older && self.last == 0 {
            if let Some(first) = history.first() {
                if self.send(Event::default().event("older").data(first.seq.to_string())).await.is_err() {
                    return;
                }
                // a deployment's stages (clone, build, start, …) stay visible however long its log
                if self.deployment.is_some() {
                    let stages = self.services.logs.stages_before(&self.channel, first.seq, STAGES).await.unwrap_or_default();
                    if self.send_lines(&stages).await.is_err() {
                        return;
                    }
                }
            }
        }
        if self.send_lines(&history).await.is_err() {
            return;
        }
        if self.deployment.is_none() || (!ended && !self.is_final().await) {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tokio::select! {
                    msg = live.recv() => match msg {
                        Ok(LogEvent::Line(l)) => {
                            // after a lag, Rhone's own lines in the gap come first: a slow viewer may
                            // skip app output, never the stages of its deployment
                            let mut batch = if self.lagged && self.deployment.is_some() {
                                self.services.logs.rhone_lines_between(&self.channel, self.last, l.seq)
                            } else {
                                Vec::new()
                            };
                            batch.push(l);
                            if self.send_lines(&batch).await.is_err() {
                                return;
                            }
                        }
                        Ok(LogEvent::End) if self.deployment.is_some() => break,
                        Ok(LogEvent::End) => {}
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            self.lagged = true;
                            if self.send(Event::default().event("skipped").data(n.to_string())).await.is_err() {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    _ = tick.tick() => {
                        if self.tx.is_closed() || (self.deployment.is_some() && self.is_final().await) {
                            break;
                        }
                    }
                }
            }
        }
        drop(live);
        if let Some(id) = self.deployment {
            // lines written between the last live line and the end are in the store by now
            self.services.logs.flush().await;
            if let Ok(rest) = self.services.logs.stored_after(&self.channel, self.last, BUILD_HISTORY).await {
                if self.send_lines(&rest).await.is_err() {
                    return;
                }
            }
            let status = self.services.deployment(&self.actor, id).await.map(|d| d.status.as_str()).unwrap_or("unknown");
            let _ = self.send(Event::default().event("end").data(status)).await;
        }
    }
}
