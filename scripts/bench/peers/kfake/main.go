// Command kfake runs franz-go's in-memory fake Kafka cluster (pkg/kfake) as a benchmark peer:
// one broker on 127.0.0.1:PORT, topics created on first use (Metadata auto-create) with one
// partition, like the librdkafka mock beside it. Prints `kfake listening on HOST:PORT` once it
// serves, and stops on SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1 (0 picks a free one)")
	partitions := flag.Int("partitions", 1, "partitions of an auto-created topic")
	flag.Parse()

	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(*port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("kfake listening on %s\n", c.ListenAddrs()[0])

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
	c.Close()
}
