use crate::both;
use crate::helpers::{Backend, spawn_app};

async fn health_readiness_and_metrics(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let expected = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgresql"
    };
    assert_eq!(body["database"], expected);

    app.get("/login?return_to=/secret-looking-value").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"mintgate_http_requests_total{method="GET",route="/login",status="200"}"#),
        "{text}"
    );
    assert!(text.contains("mintgate_http_request_duration_seconds_bucket"));
    assert!(
        !text.contains("secret-looking-value"),
        "query strings never become labels"
    );
}

both!(health_readiness_and_metrics);

/// Every answer carries `X-Request-Id`: a plain one from a proxy in front is kept, anything
/// else is replaced by our own, different for each request.
#[tokio::test]
async fn every_answer_has_a_request_id() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let client = crate::helpers::new_client();
    let id = |res: &reqwest::Response| res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let a = id(&app.get("/healthz").await);
    let b = id(&app.get("/nowhere").await);
    assert!(!a.is_empty() && a != b, "{a} {b}");
    let kept = client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "lb-1234.abc")
        .send()
        .await
        .unwrap();
    assert_eq!(id(&kept), "lb-1234.abc");
    let replaced = client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "a b\"c")
        .send()
        .await
        .unwrap();
    assert_ne!(id(&replaced), "a b\"c");
}
