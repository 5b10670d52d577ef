package agentcmd

import (
	"net"
	"os"
	"time"
)

// notifyReady tells systemd the agent is ready (sd_notify READY=1), when it
// runs as a Type=notify service: $NOTIFY_SOCKET names the socket, an
// abstract one when it starts with "@". Without it, nothing happens.
func notifyReady() error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialTimeout("unixgram", path, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte("READY=1"))
	return err
}
