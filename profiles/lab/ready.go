package lab

import (
	"fmt"
	"strings"
)

// ReadyScript prints why a node is not ready yet and fails, or succeeds when systemd is
// running or degraded, sshd listens and every interface named has an IPv4 address.
func ReadyScript(ifaces []string) string {
	var b strings.Builder
	b.WriteString(`st=$(systemctl is-system-running 2>/dev/null); case "$st" in running|degraded) ;; *) echo "systemd is ${st:-not up}"; exit 1;; esac
ss -Hltn 'sport = :22' | grep -q . || { echo "sshd is not listening"; exit 1; }
`)
	for _, i := range ifaces {
		fmt.Fprintf(&b, "ip -4 -o addr show dev %s 2>/dev/null | grep -q inet || { echo \"%s has no IPv4 address\"; exit 1; }\n", i, i)
	}
	return b.String()
}
