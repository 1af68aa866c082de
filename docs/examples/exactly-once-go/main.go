// Exactly-once calls to a wasmrpc method that changes state, from Go with grpc-go and no generated
// code (docs/CHAINCODE.md, "Exactly-once calls").
//
//	go build -o exactly-once . && ./exactly-once -addr HOST:PORT[,HOST:PORT…] \
//	    -method /counter.Counter/Add -request 0a036865791001 [-key KEY] [-module ID]
//
// sends the request (hex of its protobuf bytes) with an idempotency key (-key, else a new one) to
// each server in turn until one answers: after ABORTED (nothing was committed), UNAVAILABLE,
// UNKNOWN or DEADLINE_EXCEEDED (the call may have committed) it sends the same bytes with the same
// key again, so the state changes at most once however often it is sent. Prints the response's hex,
// the key, whether the answer is the stored answer of an earlier call with the key, and the
// transaction's id.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// rawCodec sends and receives message bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// callExactlyOnce calls method with request and the idempotency key through conns, one after
// another, until one answers; it returns the response and its headers.
func callExactlyOnce(conns []*grpc.ClientConn, method string, request []byte, key, module string, attempts int) ([]byte, metadata.MD, error) {
	pairs := []string{"wasmrpc-idempotency-key", key}
	if module != "" {
		pairs = append(pairs, "wasmrpc-module-id", module)
	}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), metadata.Pairs(pairs...)), 30*time.Second)
		var response []byte
		var headers metadata.MD
		err := conns[attempt%len(conns)].Invoke(ctx, method, &request, &response, grpc.Header(&headers))
		cancel()
		if err == nil {
			return response, headers, nil
		}
		switch status.Code(err) {
		case codes.Aborted, codes.Unavailable, codes.Unknown, codes.DeadlineExceeded:
			if attempt+1 < attempts {
				// Full jitter: a random wait up to a bound that doubles, so that retries spread out.
				bound := 100 * time.Millisecond << uint(attempt)
				if bound > 2*time.Second {
					bound = 2 * time.Second
				}
				wait, _ := rand.Int(rand.Reader, big.NewInt(int64(bound)))
				time.Sleep(time.Duration(wait.Int64()))
				continue
			}
		}
		return nil, nil, err
	}
}

func main() {
	addresses := flag.String("addr", "127.0.0.1:50051", "servers, HOST:PORT[,HOST:PORT…]")
	method := flag.String("method", "", "the method, /package.Service/Method")
	requestHex := flag.String("request", "", "the request message's bytes, in hex")
	key := flag.String("key", "", "the idempotency key (default: a new random one)")
	module := flag.String("module", "", "the module that answers (wasmrpc-module-id; default: the newest)")
	flag.Parse()
	request, err := hex.DecodeString(*requestHex)
	if err != nil || *method == "" {
		fmt.Fprintln(os.Stderr, "usage: exactly-once -addr HOST:PORT -method /package.Service/Method -request HEX [-key KEY] [-module ID]")
		os.Exit(2)
	}
	if *key == "" {
		random := make([]byte, 16)
		rand.Read(random)
		*key = hex.EncodeToString(random)
	}
	var conns []*grpc.ClientConn
	for _, address := range strings.Split(*addresses, ",") {
		conn, err := grpc.Dial(address, grpc.WithInsecure(), grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer conn.Close()
		conns = append(conns, conn)
	}
	response, headers, err := callExactlyOnce(conns, *method, request, *key, *module, 8)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	replayed := len(headers.Get("wasmrpc-idempotent-replay")) > 0 && headers.Get("wasmrpc-idempotent-replay")[0] == "true"
	transaction := ""
	if values := headers.Get("wasmrpc-transaction"); len(values) > 0 {
		transaction = values[0]
	}
	fmt.Println("response", hex.EncodeToString(response))
	fmt.Println("key", *key)
	fmt.Println("replayed", replayed)
	fmt.Println("transaction", transaction)
}
