// Package pgwire serves the Postgres frontend/backend protocol (version
// 3.0) and hands statements to a Session.
//
// A Server accepts connections, answers SSL and GSS encryption requests
// with 'N', authenticates every user without a password (trust), and then
// runs the simple and the extended query protocol, COPY FROM STDIN and
// CancelRequest against the Session its Handler creates. The package knows
// nothing of SQL: sessions parse, plan and execute; pgwire moves messages
// and encodes Arrow record batches as DataRow messages in text or binary
// format (catalog.AppendText, catalog.AppendBinary).
//
// Contract with sessions:
//
//   - A Session is called from one goroutine (the connection's) at a time.
//     Only the context passed to a call is cancelled from elsewhere: by a
//     CancelRequest, by Server.Shutdown, or when the client goes away.
//   - Every Portal the server obtains is closed by it exactly once, and
//     every batch Next returns is released by it.
//   - Panics in session calls are recovered, logged with their stack and
//     reported to the client as XX000 errors; the connection goes on.
//   - Errors are reported with the SQLSTATE and fields of pgerror.From.
//
// Output is buffered and written once per protocol cycle (at
// ReadyForQuery, Flush, or when the buffer grows large), so a small query
// costs one write. A portal whose Next may wait for new data can implement
// LivePortal to have each batch written as soon as it is encoded.
package pgwire
