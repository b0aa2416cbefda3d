// Package agent connects agents in other processes to a running sqld.
//
// An agent (`sqld agent --join host:port`) dials the server's agent port,
// offers its CPUs and memory, and runs the tasks the scheduler places on
// it. What runs remotely is decided by the Executor the agent process
// provides; sqld's view jobs ship each epoch's stage (the view's plan over
// the epoch's input) and get its result back, while the server keeps
// reading the log and committing epochs.
//
// # Protocol
//
// Both sides first write a handshake: the 8 bytes of Magic and a big-endian
// uint16 Version. A peer whose handshake is wrong is disconnected (and
// logged); a version the server does not speak is answered with a Refused
// frame. Then the agent sends Hello with its resources, and the server
// answers Welcome (with the agent's id) or Refused (with the reason, for
// example an agent offering no CPUs).
//
// Everything after the handshake is frames:
//
//	uint32 length   big-endian, of everything after this field
//	uint8  kind     Kind
//	uint32 hlen     big-endian, length of the header
//	[hlen]byte      header, a JSON Header
//	[...]byte       payload (plan, Arrow IPC batches), the rest of the frame
//
// A frame longer than MaxFrame or shorter than its fixed fields is an
// error and ends the connection. The agent sends Heartbeat frames every
// HeartbeatInterval; the server answers the scheduler's calls with Request
// frames (launch a task, run a stage), each answered by one Reply frame
// with the same Header.Req. Kill tells the agent a task ended.
//
// # Ownership
//
// Server owns its listener's connections: one goroutine reads each, and
// Close ends them all. Run (the agent side) owns its connection and one
// goroutine per request in flight; it returns when its context ends or the
// connection is lost.
package agent
