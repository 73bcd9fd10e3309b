//! `GET /v1/platform[?since=SEQ|now&limit=N]`: the platform's time series (CPU
//! per core, memory, instance slots, runs in flight per function, what
//! ended, refusals, kills, seccomp denials, pipes), one sample per
//! `--sample-interval`; with `follow=true`, one never-ending body of JSON
//! lines, a sample per line as it is taken. And the task that takes them.

use crate::api_error::ApiError;
use crate::app::{App, HttpResponse, json};
use crate::ndjson_feed::{FeedLines, respond};
use crate::query::{parse_bool, parse_number, query_pairs, unknown_parameter};
use faasrt_runtime::{PLATFORM_CAPACITY, PlatformSample, Runtime};
use hyper::StatusCode;
use hyper::http::request::Parts;
use std::time::Duration;
use tokio::sync::watch;

/// Samples the runtime every `interval` until the server closes.
pub(crate) async fn sample_every(
    runtime: Runtime,
    interval: Duration,
    mut closing: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = closing.changed() => return,
        }
        if *closing.borrow() {
            return;
        }
        runtime.sample_platform();
    }
}

/// Answers `GET /v1/platform`.
pub(crate) fn get(app: &App, request: &Parts) -> Result<HttpResponse, ApiError> {
    let mut since = 0;
    let mut limit = PLATFORM_CAPACITY;
    let mut follow = false;
    for (key, value) in query_pairs(request) {
        match key.as_str() {
            // `now`: only samples taken from now on (a follower that wants
            // no backlog, as `tail -n0 -f`).
            "since" if value == "now" => since = app.runtime.latest_platform_sample(),
            "since" => since = parse_number(&key, &value)?,
            "limit" => limit = parse_number(&key, &value)?,
            "follow" => follow = parse_bool(&key, &value)?,
            _ => return Err(unknown_parameter(&key, "since, limit, follow")),
        }
    }
    if follow {
        // Subscribed before the ring is read, so no sample falls between.
        let follower = app.runtime.follow_platform();
        let lines = FeedLines {
            follower,
            backlog: app.runtime.platform_samples(since, PLATFORM_CAPACITY),
            seq: |sample: &PlatformSample| sample.seq,
            keep: |_: &PlatformSample| true,
        };
        return Ok(respond(lines, app.closing.subscribe()));
    }
    let samples = app.runtime.platform_samples(since, limit);
    let next = samples.last().map_or(since, |s| s.seq);
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "samples": samples,
            "next": next,
            "capacity": PLATFORM_CAPACITY,
        }),
    ))
}
