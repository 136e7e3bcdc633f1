//! Prometheus metrics: requests by route pattern, method and status, and a latency histogram.
//! Every label takes values from a fixed set, because each distinct label value is a series
//! kept in memory for the life of the process: the route is the matched pattern
//! (`/v1/api-keys/{id}`) or `unmatched`, never the raw path or query (so no identifier or secret
//! becomes a label); the method is one of [`METHODS`] or `OTHER`; the status is a number the
//! server itself chose.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use tracing::Instrument;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "mintgate_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("static metric definition");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "mintgate_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )
        .expect("static metric definition");
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(latency.clone()))
            .expect("registered once");
        Self {
            registry,
            requests,
            latency,
        }
    }

    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[route]).observe(seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The methods counted by name; any other (an extension method, or a client sending random
/// tokens) is counted as `OTHER`, so a client cannot create label series at will.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The `method` label: one of [`METHODS`] or `OTHER`.
pub fn method_label(method: &Method) -> &'static str {
    METHODS
        .into_iter()
        .find(|m| *m == method.as_str())
        .unwrap_or("OTHER")
}

/// The label of requests that matched no route: one series, whatever the path.
pub const UNMATCHED: &str = "unmatched";

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The `X-Request-Id` header: echoed on every answer and carried by every log line of the
/// request, so a client's report or a load balancer's log can be tied to ours.
pub const REQUEST_ID: &str = "x-request-id";

/// A request id a proxy in front may already have set: kept if it is short and plain (so it
/// cannot forge log lines), otherwise replaced.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    (!v.is_empty() && v.len() <= 64 && v.chars().all(plain)).then(|| v.to_owned())
}

/// A new request id: this process's random prefix and a counter — unique across instances
/// without a system call per request.
fn new_request_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| crate::crypto::random_base62(8));
    format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Counts and times every request and logs one line for it (path without query string), inside
/// a `request` span carrying the request id, method and route. The server registers its
/// [`Metrics`] as app data of its own, so this middleware needs nothing else of the state.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(req.method());
    let request_id = incoming_request_id(&req).unwrap_or_else(new_request_id);
    let span =
        tracing::info_span!("request", id = %request_id, method, route = tracing::field::Empty);
    let mut res = next.call(req).instrument(span.clone()).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED.to_owned());
    span.record("route", route.as_str());
    let status = res.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.observe(&route, method, status, elapsed);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), v);
    }
    span.in_scope(|| {
        tracing::info!(target: "mintgate::access", path = res.request().path(), status, ms = elapsed * 1000.0);
    });
    Ok(res)
}
