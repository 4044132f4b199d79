package config

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/client/trust"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// isServerCall tells `lite config get|set|unset|show|edit` aimed at the server from those
// aimed at an instance: a server key has a dot (instance names cannot), and a bare "REMOTE:"
// names a server.
func isServerCall(args []string) bool {
	if len(args) == 0 {
		return true
	}
	first := args[0]
	return strings.HasSuffix(first, ":") || strings.Contains(strings.SplitN(first, "=", 2)[0], ".")
}

// serverArgs splits an optional leading "REMOTE:" off.
func serverArgs(args []string) (string, []string) {
	if len(args) > 0 && strings.HasSuffix(args[0], ":") {
		return args[0], args[1:]
	}
	return "", args
}

// serverConfig connects and returns the client and the server's config (never nil).
func (b *base) serverConfig(ctx context.Context) (Client, map[string]string, error) {
	c, err := b.Client()
	if err != nil {
		return nil, nil, err
	}
	srv, err := c.GetServer(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c, orEmpty(srv.Config), nil
}

// updateServer reads the server's config, lets change edit it and writes it back.
func (b *base) updateServer(ctx context.Context, change func(cfg map[string]string) error) error {
	c, cfg, err := b.serverConfig(ctx)
	if err != nil {
		return err
	}
	if err := change(cfg); err != nil {
		return err
	}
	return c.UpdateServer(ctx, api.ServerPut{Config: cfg})
}

// NewCmdTrust returns `lite config trust add|list|remove`.
func NewCmdTrust(f *cli.Factory) *cobra.Command {
	return group("trust", "Manage the clients trusted over HTTPS",
		NewCmdTrustAdd(f, nil), NewCmdTrustList(f, nil), NewCmdTrustRemove(f, nil))
}

// TrustOptions are the inputs of lite config trust add and remove.
type TrustOptions struct {
	base // Name is the client's name (remove: or its fingerprint, 12 digits at least)
}

// NewCmdTrustAdd returns `lite config trust add [REMOTE:]NAME`; runF replaces RunTrustAdd in
// tests.
func NewCmdTrustAdd(f *cli.Factory, runF func(context.Context, *TrustOptions) error) *cobra.Command {
	opts := &TrustOptions{}
	return newCmd(f, &opts.base, runner(runF, RunTrustAdd, opts),
		&cobra.Command{Use: "add [REMOTE:]NAME", Short: "Print a one-time join token for a client called NAME",
			Example: "  lite config trust add laptop\n  (then on the laptop: lite remote add host2 TOKEN)", Args: cli.ExactArgs(1)}, nil)
}

// RunTrustAdd asks the server for a join token and prints it.
func RunTrustAdd(ctx context.Context, opts *TrustOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	op, err := c.CreateCertificateToken(ctx, opts.Name)
	if err != nil {
		return err
	}
	tok, err := tokenFromOp(op.Get())
	if err != nil {
		return err
	}
	return opts.say("Client %s certificate add token:\n%s", opts.Name, tok)
}

// TrustListOptions are the inputs of lite config trust list.
type TrustListOptions struct {
	base   // Name is unused: it lists a server
	Format output.Format
}

// NewCmdTrustList returns `lite config trust list [REMOTE:]`; runF replaces RunTrustList in
// tests.
func NewCmdTrustList(f *cli.Factory, runF func(context.Context, *TrustListOptions) error) *cobra.Command {
	opts := &TrustListOptions{}
	cmd := newCmd(f, &opts.base, runner(runF, RunTrustList, opts),
		&cobra.Command{Use: "list [REMOTE:]", Aliases: []string{"ls"}, Short: "List trusted client certificates", Args: cli.RangeArgs(0, 1)},
		func(args []string) error { return onlyServer(opts.Name) })
	output.AddFormatFlag(cmd, &opts.Format)
	return cmd
}

// onlyServer refuses the name left after a command's "REMOTE:" argument: it takes a server,
// not an object on one.
func onlyServer(name string) error {
	if name != "" {
		return fmt.Errorf("%q is not a server: want REMOTE: or nothing: %w", name, api.ErrInvalid)
	}
	return nil
}

// RunTrustList prints the trusted certificates.
func RunTrustList(ctx context.Context, opts *TrustListOptions) error {
	_, certs, err := opts.certificates(ctx)
	if err != nil {
		return err
	}
	d := output.Data{Header: []string{"NAME", "TYPE", "FINGERPRINT"}, Raw: certs}
	for _, ce := range certs {
		d.Rows = append(d.Rows, []string{ce.Name, ce.Type, ce.Fingerprint[:min(12, len(ce.Fingerprint))]})
	}
	return output.Print(opts.IO.Out, opts.Format, d)
}

// NewCmdTrustRemove returns `lite config trust remove [REMOTE:]NAME|FINGERPRINT`; runF
// replaces RunTrustRemove in tests.
func NewCmdTrustRemove(f *cli.Factory, runF func(context.Context, *TrustOptions) error) *cobra.Command {
	opts := &TrustOptions{}
	return newCmd(f, &opts.base, runner(runF, RunTrustRemove, opts),
		&cobra.Command{Use: "remove [REMOTE:]NAME|FINGERPRINT", Aliases: []string{"rm"}, Short: "Stop trusting a client (refused at once)", Args: cli.ExactArgs(1)}, nil)
}

// RunTrustRemove deletes the first certificate of that name, or whose fingerprint starts with
// it (12 digits at least).
func RunTrustRemove(ctx context.Context, opts *TrustOptions) error {
	c, certs, err := opts.certificates(ctx)
	if err != nil {
		return err
	}
	who := opts.Name
	for _, ce := range certs {
		if ce.Name == who || len(who) >= 12 && strings.HasPrefix(ce.Fingerprint, who) {
			return c.DeleteCertificate(ctx, ce.Fingerprint)
		}
	}
	return fmt.Errorf("no trusted certificate named %q: %w", who, api.ErrNotFound)
}

// certificates connects and returns the client and the certificates the server trusts.
func (b *base) certificates(ctx context.Context) (Client, []api.Certificate, error) {
	c, err := b.Client()
	if err != nil {
		return nil, nil, err
	}
	certs, err := c.GetCertificates(ctx)
	return c, certs, err
}

// tokenFromOp builds the printable token from a token operation's metadata.
func tokenFromOp(op api.Operation) (string, error) {
	md := op.Metadata
	str := func(k string) string { s, _ := md[k].(string); return s }
	tok := api.CertificateAddToken{ClientName: str("clientName"), Fingerprint: str("fingerprint"), Secret: str("secret"), ExpiresAt: str("expiresAt")}
	if addrs, ok := md["addresses"].([]any); ok {
		for _, a := range addrs {
			if s, ok := a.(string); ok {
				tok.Addresses = append(tok.Addresses, s)
			}
		}
	}
	if tok.Secret == "" {
		return "", fmt.Errorf("the server's token operation carries no secret: %w", api.ErrInternal)
	}
	if len(tok.Addresses) == 0 {
		return "", fmt.Errorf("the server has no HTTPS address: set core.https_address first (lite config set core.https_address 127.0.0.1:8443): %w", api.ErrInvalid)
	}
	return trust.EncodeToken(tok)
}
