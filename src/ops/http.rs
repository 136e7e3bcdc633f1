use actix_web::{HttpResponse, web};

use crate::startup::AppState;
use crate::web::error::WebError;

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

pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render()))
}
