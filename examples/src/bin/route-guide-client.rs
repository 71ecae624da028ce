//! The route guide client, all four RPC kinds: `route-guide-client [--addr HOST:PORT]`.

use std::time::Duration;

use examples::routeguide::{Point, Rectangle, RouteGuideClient, RouteNote};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = examples::flag("addr").unwrap_or_else(|| "localhost:10000".to_owned());
    let client = RouteGuideClient::new(rust_rpc::insecure_channel(&addr)?);
    let timeout = Duration::from_secs(10);
    let known = examples::route_guide_features();

    // Unary.
    let point = known[0].location.unwrap_or_default();
    let feature = client.get_feature(point).timeout(timeout).await?;
    println!("GetFeature: {:?} at {:?}", feature.name, feature.location);

    // Server streaming.
    let rect = Rectangle {
        lo: Some(Point { latitude: 400_000_000, longitude: -750_000_000 }),
        hi: Some(Point { latitude: 420_000_000, longitude: -730_000_000 }),
    };
    let mut features = client.list_features(rect).timeout(timeout).await?;
    while let Some(feature) = features.message().await? {
        println!("ListFeatures: {}", feature.name);
    }

    // Client streaming.
    let route: Vec<Point> = known.iter().filter_map(|f| f.location).collect();
    let summary = client.record_route(rust_rpc::stream::iter(route)).timeout(timeout).await?;
    println!("RecordRoute: {} points, {} features, {} m", summary.point_count, summary.feature_count, summary.distance);

    // Bidirectional streaming: two notes at the same place; the second call sees the first.
    let here = Some(Point { latitude: 1, longitude: 1 });
    let notes = vec![
        RouteNote { location: here, message: "first".into() },
        RouteNote { location: here, message: "second".into() },
    ];
    let mut replies = client.route_chat(rust_rpc::stream::iter(notes)).timeout(timeout).await?;
    while let Some(note) = replies.message().await? {
        println!("RouteChat: got {:?} left earlier", note.message);
    }
    Ok(())
}
