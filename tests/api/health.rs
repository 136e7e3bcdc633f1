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
