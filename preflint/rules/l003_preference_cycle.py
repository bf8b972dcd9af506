import numpy as np

from preflint.findings import Severity
from preflint.rule import DatasetRule


class PreferenceCycle(DatasetRule):
    """With several pairs per prompt, the preferences go round in a cycle (A > B, B > C, C > A).

    ## What it does
    Builds, per prompt, a graph of "chosen beats rejected" between response hashes and reports every group of
    three or more responses that beat each other in a circle (a strongly connected component), with its rows.
    Two-response contradictions are D003's.

    ## Why is this bad?
    No ranking of the responses agrees with all the pairs, so some of them push the model one way and some the
    other: the labels of that prompt are, in part, noise.

    ## Example
    Three rows for one prompt: A over B, B over C, C over A.

    ## Fix safety
    No fix: which edge of the cycle is wrong needs the original judgements.
    """

    code = "L003"
    name = "preference-cycle"
    family = "labels"
    severity = Severity.WARNING

    def start(self):
        return []  # chunks of (prompt, chosen, rejected, row) as numpy columns: 32 bytes a pair

    def update(self, state, batch):
        edges = [(*batch.text_keys(i), batch.rows[i]) for i in batch.comparable()]
        if edges:
            state.append(np.array(edges, dtype=np.uint64))
        return state

    def merge(self, state, other):
        return state + other

    def finish(self, state):
        if not state:
            return
        edges = np.concatenate(state)
        edges = edges[np.argsort(edges[:, 0], kind="stable")]
        starts = np.flatnonzero(np.r_[True, edges[1:, 0] != edges[:-1, 0]])
        sizes = np.diff(np.r_[starts, len(edges)])
        cycles = []
        for start, size in zip(starts[sizes >= 3], sizes[sizes >= 3]):
            prompt = int(edges[start, 0])
            group = [(int(a), int(b), int(row)) for _, a, b, row in edges[start : start + size]]
            for component in _components({(a, b) for a, b, _ in group}):
                if len(component) >= 3:
                    rows = sorted(row for a, b, row in group if a in component and b in component)
                    about = f"prompt {prompt:016x} replies " + ",".join(f"{key:016x}" for key in sorted(component))
                    cycles.append((rows, about))
        for rows, about in sorted(cycles):
            yield self.finding(
                None, f"the preferences of rows {', '.join(map(str, rows))} form a cycle over one prompt", about=about
            )


def _components(edges: set[tuple[int, int]]) -> list[set[int]]:
    """Strongly connected components (Tarjan's algorithm, iterative)."""
    graph: dict[int, list[int]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    result.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(graph[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return result
