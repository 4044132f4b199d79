package lab

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"

	"lite/client/api"
	labfile "lite/profiles/lab"
)

// networkConfig is the lite network config a lab network asks for.
func networkConfig(lab string, n labfile.Network) map[string]string {
	cfg := map[string]string{LabKey: lab, "ipv4.address": n.IPv4}
	if n.NAT != nil {
		cfg["ipv4.nat"] = strconv.FormatBool(*n.NAT)
	}
	if n.DHCP != nil {
		cfg["ipv4.dhcp"] = strconv.FormatBool(*n.DHCP)
	}
	if n.Domain != "" {
		cfg["dns.domain"] = n.Domain
	}
	return cfg
}

func (s *Service) planNetworks(ctx context.Context, l *labfile.Lab, add func(action, kind, name, detail string)) error {
	existing, err := s.Networks.List(ctx)
	if err != nil {
		return err
	}
	byName := map[string]api.Network{}
	for _, n := range existing {
		byName[n.Name] = n
	}
	for _, n := range l.Networks {
		name := NetworkName(l.Name, n.Name)
		if have, ok := byName[name]; ok {
			if owned(have.Config) != l.Name {
				return fmt.Errorf("network %s: %s already exists and is not part of lab %s: %w", n.Name, name, l.Name, api.ErrAlreadyExists)
			}
			add("keep", "network", name, have.Config["ipv4.address"])
			continue
		}
		if want, err := netip.ParsePrefix(n.IPv4); err == nil {
			for _, other := range existing {
				if p, err := netip.ParsePrefix(other.Config["ipv4.address"]); err == nil && p.Overlaps(want) {
					return fmt.Errorf("network %s: subnet %s overlaps network %s (%s): pick another subnet: %w",
						n.Name, want.Masked(), other.Name, p.Masked(), api.ErrConflict)
				}
			}
		}
		add("create", "network", name, n.IPv4)
	}
	return nil
}

// ensureNetworks creates the lab's missing networks. Each Create is whole or nothing.
func (s *Service) ensureNetworks(ctx context.Context, l *labfile.Lab, plan api.LabPlan) error {
	for _, n := range l.Networks {
		name := NetworkName(l.Name, n.Name)
		if !planned(plan, "create", "network", name) {
			continue
		}
		req := api.NetworksPost{Name: name, Type: "bridge"}
		req.Config = networkConfig(l.Name, n)
		req.Description = "lab " + l.Name
		if err := s.Networks.Create(ctx, req); err != nil {
			return fmt.Errorf("lab %s: create network %s: %w", l.Name, name, err)
		}
	}
	return nil
}

func planned(plan api.LabPlan, action, kind, name string) bool {
	for _, c := range plan.Changes {
		if c.Action == action && c.Kind == kind && c.Name == name {
			return true
		}
	}
	return false
}
