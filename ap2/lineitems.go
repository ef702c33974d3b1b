package ap2

// Limits of the line_items evaluation, so that a hostile checkout cannot
// make the max-flow search expensive. A checkout or constraint beyond them
// is unresolved_constraint: agentpay cannot check it, the user can approve
// it directly.
const (
	lineRequirementsMax = 100
	lineItemsMax        = 500
	lineEdgesMax        = 20000
	lineQuantityMax     = 1_000_000
)

// matchLineItems checks a checkout's lines against a line_items constraint
// the way checkout_mandate.md describes it, as a maximum flow: source →
// requirement (capacity: its quantity) → each product id it accepts
// (unbounded) → sink (capacity: the units of that product in the
// checkout). Every unit in the checkout must be assigned: the flow must
// equal the checkout's total quantity. Like the reference SDK
// (max_flow_helper, constraints_line_items_tests), a requirement's quantity
// is an upper bound, not an exact count, and lines of quantity 0 count for
// nothing. Unlike it, a requirement whose acceptable items were all
// withheld accepts nothing, not anything: an agent must not widen a
// constraint by hiding its disclosures.
func matchLineItems(reqs []LineItemRequirement, lines []LineItem) error {
	if len(reqs) > lineRequirementsMax || len(lines) > lineItemsMax {
		return unresolvedConstraint("checkout.line_items is larger than agentpay evaluates")
	}
	units := map[string]int64{}
	var products []string
	var total int64
	for _, l := range lines {
		if l.Quantity < 0 || l.Quantity > lineQuantityMax {
			return invalidMandate("a checkout line has %d units", l.Quantity)
		}
		if l.Quantity == 0 {
			continue
		}
		if _, ok := units[l.Item.ID]; !ok {
			products = append(products, l.Item.ID)
		}
		units[l.Item.ID] += l.Quantity
		total += l.Quantity
	}
	if total == 0 {
		return invalidMandate("an empty checkout does not satisfy checkout.line_items")
	}
	// Nodes: 0 source, 1 sink, 2.. requirements, then products.
	g := newFlowGraph(2 + len(reqs) + len(products))
	index := map[string]int{}
	for i, p := range products {
		index[p] = 2 + len(reqs) + i
		g.add(index[p], 1, units[p])
	}
	edges := 0
	for i, r := range reqs {
		if r.Quantity < 1 || r.Quantity > lineQuantityMax {
			return invalidMandate("requirement %q has %d units", r.ID, r.Quantity)
		}
		g.add(0, 2+i, r.Quantity)
		linked := map[string]bool{}
		for _, it := range r.AcceptableItems {
			if n, ok := index[it.ID]; ok && !linked[it.ID] {
				linked[it.ID] = true
				if edges++; edges > lineEdgesMax {
					return unresolvedConstraint("checkout.line_items is larger than agentpay evaluates")
				}
				g.add(2+i, n, total)
			}
		}
	}
	if flow := g.maxFlow(0, 1); flow != total {
		return invalidMandate("%d of the checkout's %d units fit no line-item requirement", total-flow, total)
	}
	return nil
}

// flowGraph is a residual graph for Dinic's algorithm.
type flowGraph struct {
	adj   [][]int // node → edge indexes
	to    []int
	cap   []int64
	level []int
	next  []int
}

func newFlowGraph(n int) *flowGraph {
	return &flowGraph{adj: make([][]int, n), level: make([]int, n), next: make([]int, n)}
}

// add adds an edge u→v of capacity c and its residual twin.
func (g *flowGraph) add(u, v int, c int64) {
	g.adj[u] = append(g.adj[u], len(g.to))
	g.to, g.cap = append(g.to, v), append(g.cap, c)
	g.adj[v] = append(g.adj[v], len(g.to))
	g.to, g.cap = append(g.to, u), append(g.cap, 0)
}

func (g *flowGraph) maxFlow(s, t int) int64 {
	var flow int64
	for g.bfs(s, t) {
		clear(g.next)
		for {
			f := g.dfs(s, t, 1<<62)
			if f == 0 {
				break
			}
			flow += f
		}
	}
	return flow
}

func (g *flowGraph) bfs(s, t int) bool {
	for i := range g.level {
		g.level[i] = -1
	}
	g.level[s] = 0
	queue := []int{s}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, e := range g.adj[u] {
			if v := g.to[e]; g.cap[e] > 0 && g.level[v] < 0 {
				g.level[v] = g.level[u] + 1
				queue = append(queue, v)
			}
		}
	}
	return g.level[t] >= 0
}

// dfs pushes up to limit units along a level-increasing path; its depth is
// bounded by the number of nodes, a few hundred.
func (g *flowGraph) dfs(u, t int, limit int64) int64 {
	if u == t {
		return limit
	}
	for ; g.next[u] < len(g.adj[u]); g.next[u]++ {
		e := g.adj[u][g.next[u]]
		v := g.to[e]
		if g.cap[e] <= 0 || g.level[v] != g.level[u]+1 {
			continue
		}
		if f := g.dfs(v, t, min(limit, g.cap[e])); f > 0 {
			g.cap[e] -= f
			g.cap[e^1] += f
			return f
		}
	}
	return 0
}
