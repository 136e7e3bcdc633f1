use actix_web::{HttpResponse, web};

use crate::web::error::WebError;
use crate::web::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The database answers.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let st = state.clone();
    match web::block(move || st.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok()
            .json(serde_json::json!({"status": "ready", "database": state.store.backend().name()})),
        _ => HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "unavailable"})),
    }
}

/// `/metrics` on the main address: 404 when `metrics_bind` moves it to its own address.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    if state.settings.server.metrics_bind.is_some() {
        return Err(WebError::NotFound);
    }
    Ok(render_metrics(&state))
}

/// `/metrics` on the `metrics_bind` address.
pub async fn metrics_only(state: web::Data<AppState>) -> HttpResponse {
    render_metrics(&state)
}

fn render_metrics(state: &AppState) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
