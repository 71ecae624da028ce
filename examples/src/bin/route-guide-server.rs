//! The route guide server, all four RPC kinds: `route-guide-server [--addr HOST:PORT]`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use examples::routeguide::{
    Feature, Point, Rectangle, RouteGuideServicer, RouteNote, RouteSummary, add_route_guide_servicer_to_server,
};
use rust_rpc::stream::StreamExt;
use rust_rpc::{RequestStream, ResponseStream, Result, Server, ServicerContext};

/// Notes left so far, by (latitude, longitude).
type NoteStore = Arc<Mutex<HashMap<(i32, i32), Vec<RouteNote>>>>;

struct RouteGuide {
    features: Vec<Feature>,
    notes: NoteStore,
}

fn in_rectangle(point: &Point, rect: &Rectangle) -> bool {
    let (lo, hi) = (rect.lo.unwrap_or_default(), rect.hi.unwrap_or_default());
    let (left, right) = (lo.longitude.min(hi.longitude), lo.longitude.max(hi.longitude));
    let (bottom, top) = (lo.latitude.min(hi.latitude), lo.latitude.max(hi.latitude));
    (left..=right).contains(&point.longitude) && (bottom..=top).contains(&point.latitude)
}

/// Great-circle distance in metres between two E7 points (haversine).
fn distance(a: &Point, b: &Point) -> f64 {
    const E7: f64 = 1e7;
    let (lat1, lat2) = ((a.latitude as f64 / E7).to_radians(), (b.latitude as f64 / E7).to_radians());
    let (dlat, dlon) = (lat2 - lat1, ((b.longitude - a.longitude) as f64 / E7).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    6_371_000.0 * 2.0 * h.sqrt().atan2((1.0 - h).sqrt())
}

impl RouteGuide {
    fn feature_at(&self, point: &Point) -> Option<&Feature> {
        self.features.iter().find(|f| f.location.as_ref() == Some(point))
    }
}

impl RouteGuideServicer for RouteGuide {
    async fn get_feature(&self, point: Point, _context: ServicerContext) -> Result<Feature> {
        Ok(self.feature_at(&point).cloned().unwrap_or(Feature { name: String::new(), location: Some(point) }))
    }

    async fn list_features(&self, rect: Rectangle, _context: ServicerContext) -> Result<ResponseStream<Feature>> {
        let inside: Vec<Feature> = self
            .features
            .iter()
            .filter(|f| f.location.as_ref().is_some_and(|p| in_rectangle(p, &rect)))
            .cloned()
            .collect();
        Ok(ResponseStream::iter(inside))
    }

    async fn record_route(&self, mut points: RequestStream<Point>, _context: ServicerContext) -> Result<RouteSummary> {
        let start = Instant::now();
        let mut summary = RouteSummary::default();
        let mut previous: Option<Point> = None;
        let mut metres = 0.0;
        while let Some(point) = points.message().await? {
            summary.point_count += 1;
            if self.feature_at(&point).is_some() {
                summary.feature_count += 1;
            }
            if let Some(previous) = previous {
                metres += distance(&previous, &point);
            }
            previous = Some(point);
        }
        summary.distance = metres as i32;
        summary.elapsed_time = start.elapsed().as_secs() as i32;
        Ok(summary)
    }

    async fn route_chat(
        &self,
        mut notes: RequestStream<RouteNote>,
        _context: ServicerContext,
    ) -> Result<ResponseStream<RouteNote>> {
        // As each note arrives: reply with the notes left earlier at the same place, then keep it.
        let (sender, replies) = ResponseStream::channel(16);
        let store = self.notes.clone();
        tokio::spawn(async move {
            while let Some(note) = notes.next().await {
                let note = match note {
                    Ok(note) => note,
                    Err(err) => {
                        let _ = sender.send(Err(err)).await;
                        return;
                    }
                };
                let at = note.location.map(|p| (p.latitude, p.longitude)).unwrap_or_default();
                let earlier = {
                    let mut all = store.lock().unwrap_or_else(|p| p.into_inner());
                    let here = all.entry(at).or_default();
                    let earlier = here.clone();
                    here.push(note);
                    earlier
                };
                for note in earlier {
                    if sender.send(Ok(note)).await.is_err() {
                        return; // the client went away
                    }
                }
            }
        });
        Ok(replies)
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let addr = examples::flag("addr").unwrap_or_else(|| "[::]:10000".to_owned());
    let server = Server::new();
    let guide = RouteGuide { features: examples::route_guide_features(), notes: Arc::default() };
    add_route_guide_servicer_to_server(guide, &server)?;
    // The standard health service: probes and load balancers ask it whether we serve.
    let health = rust_rpc::health::Health::new();
    health.set_status("routeguide.RouteGuide", rust_rpc::health::ServingStatus::Serving);
    rust_rpc::health::add_health_servicer_to_server(health, &server)?;
    // Server reflection: grpcurl, buf curl, Evans and Postman discover our services.
    rust_rpc::reflection::enable_server_reflection(&server)?;
    let port = server.add_insecure_port(&addr)?;
    server.start()?;
    println!("route-guide-server listening on port {port}");
    examples::serve_until_signal(&server).await?;
    Ok(())
}
