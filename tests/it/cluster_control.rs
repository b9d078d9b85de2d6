//! Controlling the simulated cluster over HTTP (and its state across a restart): stop and
//! start brokers, move leaders, set ISRs, find coordinators.

use hyper::Method;
use serde_json::json;

use crate::control::http;

#[tokio::test]
async fn the_http_routes_stop_start_move_and_shrink() {
    // Goal: each route of the contract answers its JSON and changes what clients see.
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .with_control("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let control = broker.control_addr().unwrap();
    let cluster = broker.cluster();
    let (status, answer) = http(control, Method::GET, "/v1/cluster", None).await;
    assert_eq!(status, 200);
    assert_eq!(answer["controller"], 1);
    assert_eq!(answer["brokers"].as_array().unwrap().len(), 3);
    assert_eq!(answer["brokers"][1]["id"], 2);
    assert_eq!(answer["brokers"][1]["up"], true);
    let port2 = cluster.broker_addr(2).unwrap().port();
    assert_eq!(answer["brokers"][1]["port"], port2);
    // A topic with RF 3 through Kafka's API.
    let mut c = crate::raw::RawClient::connect(&broker.bootstrap_servers()).await;
    crate::cluster_routing::create(&mut c, "ctl", 2, 3).await;
    let (status, parts) = http(control, Method::GET, "/v1/topics/ctl/partitions", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        parts[0],
        json!({"partition": 0, "leader": 1, "leader_epoch": 0, "replicas": [1, 2, 3], "isr": [1, 2, 3]})
    );
    // Stop broker 1: partition 0 moves to 2 with epoch 1; broker 1 refuses connections.
    let addr1 = cluster.broker_addr(1).unwrap();
    let (status, answer) = http(control, Method::POST, "/v1/brokers/1/stop", None).await;
    assert_eq!((status, answer), (200, json!({"id": 1, "up": false})));
    assert!(
        tokio::net::TcpStream::connect(addr1).await.is_err(),
        "broker 1 listens no more"
    );
    let (_, parts) = http(control, Method::GET, "/v1/topics/ctl/partitions", None).await;
    assert_eq!(
        parts[0],
        json!({"partition": 0, "leader": 2, "leader_epoch": 1, "replicas": [1, 2, 3], "isr": [2, 3]})
    );
    // A stopped broker cannot lead; 409.
    let body = Some(json!({"broker": 1}));
    let (status, _) = http(
        control,
        Method::POST,
        "/v1/topics/ctl/partitions/0/leader",
        body,
    )
    .await;
    assert_eq!(status, 409);
    let (status, answer) = http(control, Method::POST, "/v1/brokers/1/start", None).await;
    assert_eq!((status, answer), (200, json!({"id": 1, "up": true})));
    assert!(
        tokio::net::TcpStream::connect(addr1).await.is_ok(),
        "broker 1 listens again"
    );
    let body = Some(json!({"broker": 3}));
    let (status, p) = http(
        control,
        Method::POST,
        "/v1/topics/ctl/partitions/0/leader",
        body,
    )
    .await;
    assert_eq!(
        (status, p["leader"].clone(), p["leader_epoch"].clone()),
        (200, json!(3), json!(2))
    );
    let body = Some(json!({"isr": [1, 2]}));
    let (status, p) = http(
        control,
        Method::POST,
        "/v1/topics/ctl/partitions/0/isr",
        body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            p["leader"].clone(),
            p["leader_epoch"].clone(),
            p["isr"].clone()
        ),
        (json!(1), json!(3), json!([1, 2]))
    );
    let body = Some(json!({"isr": [4]}));
    let (status, _) = http(
        control,
        Method::POST,
        "/v1/topics/ctl/partitions/0/isr",
        body,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = http(control, Method::POST, "/v1/brokers/9/stop", None).await;
    assert_eq!(status, 404);
    let (status, _) = http(control, Method::GET, "/v1/topics/nope/partitions", None).await;
    assert_eq!(status, 404);
    let (status, answer) = http(control, Method::GET, "/v1/coordinators/group/g1", None).await;
    assert_eq!(
        (status, answer),
        (
            200,
            json!({"broker": cluster.group_coordinator("g1").unwrap()})
        )
    );
    let (status, answer) = http(
        control,
        Method::GET,
        "/v1/coordinators/transaction/t1",
        None,
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            200,
            json!({"broker": cluster.transaction_coordinator("t1").unwrap()})
        )
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn a_restart_keeps_placement_epochs_and_stopped_brokers() {
    // Goal: replicas, leaders, epochs and a stopped broker survive a restart of the process.
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let mut config = crate::support::persistent_config(dir.path());
        config.brokers = 3;
        wren::Broker::new(config).start()
    };
    let broker = start().await.unwrap();
    let mut c = crate::raw::RawClient::connect(&broker.bootstrap_servers()).await;
    crate::cluster_routing::create(&mut c, "kept", 3, 2).await;
    let cluster = broker.cluster();
    let before = cluster.partitions("kept").unwrap();
    cluster
        .move_leader("kept", 0, before[0].replicas[1])
        .unwrap();
    cluster.stop_broker(3).await.unwrap();
    let before = cluster.partitions("kept").unwrap();
    drop(c);
    broker.shutdown().await;

    let broker = start().await.unwrap();
    let cluster = broker.cluster();
    assert_eq!(cluster.partitions("kept").unwrap(), before);
    assert_eq!(before[0].leader_epoch, 1);
    let up: Vec<bool> = cluster.brokers().iter().map(|b| b.up).collect();
    assert_eq!(up, vec![true, true, false]);
    cluster.start_broker(3).await.unwrap();
    assert!(cluster
        .partitions("kept")
        .unwrap()
        .iter()
        .all(|p| p.isr.len() == 2));
    broker.shutdown().await;
}
