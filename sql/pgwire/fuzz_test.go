package pgwire

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// startupBytes is a valid StartupMessage, for seeds.
func startupBytes() []byte {
	b, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "f"}}).Encode(nil)
	return b
}

func encodeAll(msgs ...pgproto3.FrontendMessage) []byte {
	var b []byte
	for _, m := range msgs {
		b, _ = m.Encode(b)
	}
	return b
}

// FuzzConn feeds arbitrary bytes to a connection as its client stream and
// checks that the connection ends without a panic, closing its session.
func FuzzConn(f *testing.F) {
	st := startupBytes()
	f.Add(st)
	f.Add(append(st, encodeAll(&pgproto3.Query{String: "select series 5; select 1"}, &pgproto3.Terminate{})...))
	f.Add(append(st, encodeAll(
		&pgproto3.Parse{Name: "a", Query: "select echo int4|text|numeric|interval", ParameterOIDs: []uint32{23}},
		&pgproto3.Bind{PreparedStatement: "a", DestinationPortal: "p", ParameterFormatCodes: []int16{1, 0, 1, 1},
			Parameters: [][]byte{{0, 0, 0, 1}, []byte("x"), {0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, 16)}, ResultFormatCodes: []int16{1}},
		&pgproto3.Describe{ObjectType: 'P', Name: "p"},
		&pgproto3.Execute{Portal: "p", MaxRows: 1},
		&pgproto3.Sync{},
	)...))
	f.Add(append(st, encodeAll(&pgproto3.Query{String: "copy 2"}, &pgproto3.CopyData{Data: []byte("1\t2\n")}, &pgproto3.CopyDone{},
		&pgproto3.Query{String: "copy 1"}, &pgproto3.CopyFail{Message: "x"}, &pgproto3.Sync{})...))
	f.Add(append(st, encodeAll(&pgproto3.Parse{Query: "select series 9"}, &pgproto3.Bind{}, &pgproto3.Execute{MaxRows: 2},
		&pgproto3.Flush{}, &pgproto3.Execute{}, &pgproto3.Close{ObjectType: 'P'}, &pgproto3.Sync{})...))
	f.Add(append(st, 'Q', 0x7f, 0xff, 0xff, 0xff))
	f.Add([]byte{0, 0, 0, 8, 4, 210, 22, 47}) // SSLRequest
	var cancel [16]byte
	binary.BigEndian.PutUint32(cancel[:], 16)
	binary.BigEndian.PutUint32(cancel[4:], 80877102)
	f.Add(cancel[:])

	f.Fuzz(func(t *testing.T, in []byte) {
		h := newFakeHandler()
		srv := &Server{Handler: h, Logger: slog.New(slog.DiscardHandler), MaxMessageSize: 1 << 20}
		client, server := net.Pipe()
		c := srv.newConn(server)
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.serve()
		}()
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			io.Copy(io.Discard, client)
		}()
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("connection did not end")
		}
		<-drained
		if n := h.openSessions(); n != 0 {
			t.Fatalf("%d sessions left open", n)
		}
		if h.mem.CurrentAlloc() != 0 {
			t.Fatalf("%d bytes of Arrow memory leaked", h.mem.CurrentAlloc())
		}
	})
}
