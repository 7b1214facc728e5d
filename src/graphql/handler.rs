//! `/graphql` over HTTP: JSON bodies and batches on POST, queries (never mutations) and GraphiQL
//! on GET, with the Bearer token handed to resolvers.

use std::sync::Arc;

use async_graphql::{
    BatchRequest, BatchResponse, Request, ServerError, Variables,
    parser::types::{DocumentOperations, OperationType},
};
use async_graphql_axum::GraphQLResponse;
use axum::{
    Router,
    body::Bytes,
    extract::{
        Query, State,
        rejection::{BytesRejection, QueryRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use super::{
    AppSchema, MAX_BATCH, build_schema,
    documents::DocumentCache,
    error::{code_response_errors, graphql_error, request_error, transport_error},
    graphiql,
};
use crate::{
    error::AppError,
    request::{Credentials, is_json},
    service::{AppState, Client},
};

/// What the `/graphql` routes share: the schema, built once, and the GraphiQL switch.
#[derive(Clone)]
struct Endpoint {
    schema: AppSchema,
    documents: Arc<DocumentCache>,
    graphiql: bool,
    trusted_proxies: Arc<[ipnet::IpNet]>,
}

/// `/graphql`, plus GraphiQL's files under `/graphql/assets/` when GraphiQL is on.
pub fn router<S: Clone + Send + Sync + 'static>(state: &AppState) -> Router<S> {
    let endpoint = Endpoint {
        schema: build_schema(state.clone()),
        documents: Arc::default(),
        graphiql: state.config.graphiql,
        trusted_proxies: state.config.trusted_proxies.clone().into(),
    };
    let mut router = Router::new().route("/graphql", get(get_graphql).post(post_graphql));
    if endpoint.graphiql {
        router = router.route("/graphql/assets/{file}", get(graphiql::asset));
    }
    router.with_state(endpoint)
}

async fn post_graphql(State(endpoint): State<Endpoint>, parts: Parts, body: Result<Bytes, BytesRejection>) -> Response {
    match read_batch(&parts.headers, body) {
        Ok(batch) => {
            execute(&endpoint, batch, Credentials::of(&parts.headers), Client::of(&parts, &endpoint.trusted_proxies))
                .await
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// The query-string form of a request (GraphQL over HTTP, GET).
#[derive(Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
}

async fn get_graphql(
    State(endpoint): State<Endpoint>,
    parts: Parts,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    let params = match params {
        Ok(Query(params)) => params,
        Err(rejection) => return Refusal::App(AppError::Malformed(rejection.body_text())).into_response(),
    };
    let Some(query) = params.query else {
        return if endpoint.graphiql { graphiql::page() } else { Refusal::NoQuery.into_response() };
    };
    let mut request = Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        match serde_json::from_str::<Variables>(&variables) {
            Ok(variables) => request = request.variables(variables),
            Err(error) => return Refusal::App(AppError::Malformed(format!("variables: {error}"))).into_response(),
        }
    }
    // GET must be safe to prefetch, cache and follow from a link: it never changes state, and a
    // mutation is refused as such even when it is also too deep.
    if selects_mutation(&mut request) {
        return Refusal::MutationOverGet.into_response();
    }
    execute(
        &endpoint,
        BatchRequest::Single(request),
        Credentials::of(&parts.headers),
        Client::of(&parts, &endpoint.trusted_proxies),
    )
    .await
}

async fn execute(
    endpoint: &Endpoint,
    batch: BatchRequest,
    credentials: Option<Credentials>,
    client: Client,
) -> Response {
    let run = |request: Request| endpoint.run(request, client.clone(), credentials.as_ref());
    let response = match batch {
        BatchRequest::Single(request) => BatchResponse::Single(run(request).await),
        BatchRequest::Batch(requests) => {
            // One after another, in order, unlike async-graphql's own `execute_batch`: a batch of
            // code guesses then meets the attempt limit exactly as separate requests would.
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(run(request).await);
            }
            BatchResponse::Batch(responses)
        }
    };
    GraphQLResponse::from(response).into_response()
}

impl Endpoint {
    /// One operation: its document from the cache or parsed and checked against the limits, then
    /// run with the caller's address and token, and every error coded.
    async fn run(
        &self,
        request: Request,
        client: Client,
        credentials: Option<&Credentials>,
    ) -> async_graphql::Response {
        let response = match self.documents.check(request) {
            Ok(request) => {
                let request = request.data(client);
                let request = match credentials {
                    Some(credentials) => request.data(credentials.clone()),
                    None => request,
                };
                self.schema.execute(request).await
            }
            Err(refusal) => async_graphql::Response::from_errors(vec![refusal]),
        };
        code_response_errors(response)
    }
}

fn read_batch(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<BatchRequest, Refusal> {
    if !is_json(headers) {
        return Err(Refusal::App(AppError::UnsupportedMediaType));
    }
    // `Bytes` honours the app's `DefaultBodyLimit`; async-graphql-axum's extractor would not.
    let body = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Refusal::App(AppError::PayloadTooLarge)
        }
        other => Refusal::App(AppError::Malformed(other.body_text())),
    })?;
    let malformed = |error: serde_json::Error| Refusal::App(AppError::Malformed(error.to_string()));
    // Decided by the JSON shape, not by `BatchRequest`'s untagged serde: that one reads `[]` as a
    // single request with an empty query.
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        let requests: Vec<Request> = serde_json::from_slice(&body).map_err(malformed)?;
        return match requests.len() {
            0 => Err(Refusal::EmptyBatch),
            count if count > MAX_BATCH => Err(Refusal::BatchTooLarge(count)),
            _ => Ok(BatchRequest::Batch(requests)),
        };
    }
    Ok(BatchRequest::Single(serde_json::from_slice(&body).map_err(malformed)?))
}

/// Whether the operation the request would run is a mutation (or subscription). A document that
/// does not parse or name an operation is left for the executor to report.
fn selects_mutation(request: &mut Request) -> bool {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    let operation = match &document.operations {
        DocumentOperations::Single(operation) => Some(operation),
        DocumentOperations::Multiple(operations) => match &operation_name {
            Some(name) => operations.get(name.as_str()),
            None if operations.len() == 1 => operations.values().next(),
            None => None,
        },
    };
    operation.is_some_and(|operation| operation.node.ty != OperationType::Query)
}

/// A request refused before anything runs.
enum Refusal {
    App(AppError),
    EmptyBatch,
    BatchTooLarge(usize),
    MutationOverGet,
    NoQuery,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, error): (StatusCode, ServerError) = match self {
            Refusal::App(error) => (
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
                request_error(graphql_error(&error)),
            ),
            Refusal::EmptyBatch => (
                StatusCode::BAD_REQUEST,
                transport_error("BAD_REQUEST", "The batch is empty: send at least one operation."),
            ),
            Refusal::BatchTooLarge(count) => (
                StatusCode::BAD_REQUEST,
                transport_error(
                    "BATCH_LIMIT_EXCEEDED",
                    format!("A batch may hold at most {MAX_BATCH} operations; this one has {count}. None was run."),
                ),
            ),
            Refusal::MutationOverGet => (
                StatusCode::METHOD_NOT_ALLOWED,
                transport_error("METHOD_NOT_ALLOWED", "Mutations are only accepted with POST."),
            ),
            Refusal::NoQuery => (
                StatusCode::BAD_REQUEST,
                transport_error("BAD_REQUEST", "Send a GraphQL request: POST a JSON body, or GET with ?query=."),
            ),
        };
        let is_method_refusal = status == StatusCode::METHOD_NOT_ALLOWED;
        let mut response = GraphQLResponse::from(async_graphql::Response::from_errors(vec![error])).into_response();
        *response.status_mut() = status;
        if is_method_refusal {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}
