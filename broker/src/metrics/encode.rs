//! A scrape's metrics as plain data ([`Family`]), and their encoding in the Prometheus text
//! format (0.0.4) by prometheus-client (escaping, `# HELP`/`# TYPE`, counters' `_total`).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::histogram::HistogramSnapshot;

/// One metric: a name (counters without `_total`, the encoder adds it), help, and a sample
/// per label set.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricType,
    pub samples: Vec<Sample>,
}

#[derive(Debug)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: Value,
}

#[derive(Debug)]
pub enum Value {
    Counter(u64),
    Gauge(i64),
    GaugeF64(f64),
    Histogram(HistogramSnapshot),
}

impl Family {
    pub fn counter(name: &'static str, help: &'static str) -> Self {
        Family::new(name, help, MetricType::Counter)
    }
    pub fn gauge(name: &'static str, help: &'static str) -> Self {
        Family::new(name, help, MetricType::Gauge)
    }
    pub fn histogram(name: &'static str, help: &'static str) -> Self {
        Family::new(name, help, MetricType::Histogram)
    }
    fn new(name: &'static str, help: &'static str, kind: MetricType) -> Self {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    /// Adds a sample; `value` must be of the family's kind.
    pub fn push(&mut self, labels: Vec<(&'static str, String)>, value: Value) {
        debug_assert!(
            matches!(
                (&value, self.kind),
                (Value::Counter(_), MetricType::Counter)
                    | (Value::Gauge(_) | Value::GaugeF64(_), MetricType::Gauge)
                    | (Value::Histogram(_), MetricType::Histogram)
            ),
            "{}: a sample of another kind",
            self.name
        );
        self.samples.push(Sample { labels, value });
    }

    /// Builder form of [`Self::push`] for one sample.
    pub fn with(mut self, labels: Vec<(&'static str, String)>, value: Value) -> Self {
        self.push(labels, value);
        self
    }
}

/// The families in Prometheus text format, in the given order.
pub fn encode(families: Vec<Family>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape(families)));
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .expect("writing to a String cannot fail");
    text
}

#[derive(Debug)]
struct Scrape(Vec<Family>);

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let mut metric =
                encoder.encode_descriptor(family.name, family.help, None, family.kind)?;
            for sample in &family.samples {
                let labelled = metric.encode_family(&sample.labels)?;
                match &sample.value {
                    Value::Counter(v) => ConstCounter::new(*v).encode(labelled)?,
                    Value::Gauge(v) => ConstGauge::new(*v).encode(labelled)?,
                    Value::GaugeF64(v) => ConstGauge::new(*v).encode(labelled)?,
                    Value::Histogram(h) => {
                        let mut labelled = labelled;
                        labelled.encode_histogram::<NoLabelSet>(
                            h.sum_seconds,
                            h.count,
                            &h.buckets,
                            None,
                        )?
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn counters_gauges_and_histograms_in_prometheus_text() {
        let text = encode(vec![
            Family::counter("wren_x_bytes", "Bytes in").with(
                labels(&[("topic", "t"), ("partition", "0")]),
                Value::Counter(42),
            ),
            Family::gauge("wren_open", "Open things").with(vec![], Value::Gauge(-1)),
            Family::histogram("wren_d_seconds", "Durations").with(
                labels(&[("request", "Produce")]),
                Value::Histogram(HistogramSnapshot {
                    sum_seconds: 0.5,
                    count: 3,
                    buckets: vec![(0.1, 2), (1.0, 0), (f64::INFINITY, 1)],
                }),
            ),
        ]);
        let expected = "\
# HELP wren_x_bytes_total Bytes in
# TYPE wren_x_bytes_total counter
wren_x_bytes_total{topic=\"t\",partition=\"0\"} 42
# HELP wren_open Open things
# TYPE wren_open gauge
wren_open -1
# HELP wren_d_seconds Durations
# TYPE wren_d_seconds histogram
wren_d_seconds_bucket{request=\"Produce\",le=\"0.1\"} 2
wren_d_seconds_bucket{request=\"Produce\",le=\"1\"} 2
wren_d_seconds_bucket{request=\"Produce\",le=\"+Inf\"} 3
wren_d_seconds_sum{request=\"Produce\"} 0.5
wren_d_seconds_count{request=\"Produce\"} 3
";
        assert_eq!(text, expected);
    }

    #[test]
    fn label_values_from_clients_are_escaped() {
        // Group and transactional ids are any string a client chose.
        let text =
            encode(vec![Family::gauge("wren_g", "G")
                .with(labels(&[("group", "a\"b\\c\nd")]), Value::Gauge(1))]);
        assert!(text.contains(r#"wren_g{group="a\"b\\c\nd"} 1"#), "{text}");
    }

    #[test]
    fn a_family_without_samples_still_describes_itself() {
        let text = encode(vec![Family::gauge("wren_group_lag", "Lag")]);
        assert_eq!(
            text,
            "# HELP wren_group_lag Lag\n# TYPE wren_group_lag gauge\n"
        );
    }
}
