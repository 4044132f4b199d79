package device

import (
	"fmt"

	"lite/client/api"
	"lite/lxd-lite/netutil"
)

// NetState reads the interfaces of the network namespace of pid in the API's shape. It is
// cheap (two netlink dumps), so lite list can show addresses for every container.
func NetState(pid int) (map[string]api.InstanceStateNetwork, error) {
	ifs, err := netutil.InterfacesOf(pid)
	if err != nil {
		return nil, err
	}
	out := make(map[string]api.InstanceStateNetwork, len(ifs))
	for _, it := range ifs {
		n := api.InstanceStateNetwork{
			Addresses: []api.InstanceStateNetworkAddress{}, Hwaddr: it.Hwaddr, Mtu: it.MTU, State: it.State, Type: it.Type,
			Counters: api.InstanceStateNetworkCounters{
				BytesReceived: it.RxBytes, BytesSent: it.TxBytes, PacketsReceived: it.RxPackets, PacketsSent: it.TxPackets,
				ErrorsReceived: it.RxErrors, ErrorsSent: it.TxErrors, PacketsDroppedInbound: it.RxDropped, PacketsDroppedOutbound: it.TxDropped,
			},
		}
		for _, a := range it.Addrs {
			n.Addresses = append(n.Addresses, api.InstanceStateNetworkAddress{
				Family: a.Family, Address: a.Addr.String(), Netmask: fmt.Sprint(a.Bits), Scope: a.Scope,
			})
		}
		out[it.Name] = n
	}
	return out, nil
}
