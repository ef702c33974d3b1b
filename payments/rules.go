package payments

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// RulesTopic is the bus topic woken when a new rule set is saved, on
// every node (LISTEN/NOTIFY on PostgreSQL).
const RulesTopic = "risk_rules"

// rulesRecheck is how often a node rereads the rule set's version: in
// case a wake-up was lost, and for SQLite files shared by processes, whose
// buses do not reach each other. One indexed row a few seconds is cheap.
const rulesRecheck = 5 * time.Second

// RulesError is a rule set that does not compile, as an API error naming
// the line.
func RulesError(err error) error {
	var re *risk.RuleError
	if errors.As(err, &re) {
		return agentpay.ParamErrorf("rules", "invalid_rules", "%s", re.Error())
	}
	return agentpay.ParamErrorf("rules", "invalid_rules", "%s", err.Error())
}

// LoadRules puts the newest saved rule set in force, if it is newer than
// the one in force. It returns the version in force.
func (s *Service) LoadRules(ctx context.Context) (int64, error) {
	engine := s.risk()
	_, current := engine.Rules()
	saved, found, err := s.DB.LatestRiskRules(ctx)
	if err != nil || !found || saved.Version <= current {
		return current, err
	}
	rs, err := risk.Compile(saved.Text)
	if err != nil {
		// Saved rules were compiled before they were saved; a node whose
		// risk package is older than the saver's may not know a variable.
		return current, RulesError(err)
	}
	engine.Set(rs, saved.Version)
	return saved.Version, nil
}

// PrepareRules compiles text and, if it compiles, returns the unit that
// saves it as the next version, waking every node (LoadRules puts it in
// force). Text equal to the rules in force saves nothing. Two operators
// saving at once cannot both take a version: the second is refused
// (rules_changed).
func (s *Service) PrepareRules(ctx context.Context, text string) (int64, *store.Unit, error) {
	rs, err := risk.Compile(text)
	if err != nil {
		return 0, nil, RulesError(err)
	}
	if _, err := s.LoadRules(ctx); err != nil {
		return 0, nil, err
	}
	inForce, version := s.risk().Rules()
	if version > 0 && inForce.Text() == rs.Text() {
		return version, &store.Unit{}, nil
	}
	next := version + 1
	return next, &store.Unit{Rows: []store.Row{store.RiskRules{Version: next, Text: rs.Text(), CreatedAt: s.now().UnixMicro()}.Row()},
		Notify: []string{RulesTopic}}, nil
}

// SaveRules saves text as PrepareRules does and puts it in force here.
func (s *Service) SaveRules(ctx context.Context, text string) (int64, error) {
	version, u, err := s.PrepareRules(ctx, text)
	if err != nil {
		return 0, err
	}
	if err := s.DB.Committer.Submit(ctx, u).Err; err != nil {
		if agentpay.ErrorCode(err) == "already_exists" {
			return 0, errRulesChanged(version)
		}
		return 0, err
	}
	_, err = s.LoadRules(ctx)
	return version, err
}

func errRulesChanged(version int64) error {
	return agentpay.Errorf(agentpay.ECONFLICT, "rules_changed", "another operator saved rules version %d first; read them and try again", version)
}

// RiskEngine returns the engine deciding this service's payments.
func (s *Service) RiskEngine() *risk.Engine { return s.risk() }

// WatchRules keeps this node's rules the newest saved until ctx ends.
func (s *Service) WatchRules(ctx context.Context, log *slog.Logger) {
	woken, stop := s.DB.Bus.Subscribe(RulesTopic)
	defer stop()
	tick := time.NewTicker(rulesRecheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-woken:
		case <-tick.C:
		}
		if v, err := s.LoadRules(ctx); err != nil && ctx.Err() == nil {
			log.Error("risk rules: load", "err", err)
		} else if err == nil {
			log.Debug("risk rules in force", "version", v)
		}
	}
}
