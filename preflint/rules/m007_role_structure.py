from preflint.findings import Severity
from preflint.rule import RowRule


class RoleStructure(RowRule):
    """A conversation whose roles are out of order: not alternating, a late system turn, an empty turn.

    ## What it does
    For conversational pairs, checks that a system message comes only first, that user and assistant turns
    alternate (tool results follow an assistant turn), that no prompt turn is empty (an assistant turn that only
    calls a tool, OpenAI's `tool_calls`, is not), that the prompt ends with a user or tool turn. (Completions are
    the assistant messages after the last other turn, by construction.)

    ## Why is this bad?
    Many chat templates render such conversations in ways the model never saw (or raise, see S005); trainers
    that require alternation (LLaMA-Factory) drop the row.

    ## Example
    ```json
    {"prompt": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Hello?"}],
     "chosen": [{"role": "assistant", "content": "Hi!"}], "rejected": [{"role": "assistant", "content": "..."}]}
    ```

    ## Fix safety
    No automatic fix.
    """

    code = "M007"
    name = "role-structure"
    family = "mask"
    severity = Severity.WARNING

    def check(self, batch):
        for i in batch.usable():
            pair = batch.pairs[i]
            if pair.is_chat:
                problems = _problems(pair.prompt)
                if problems:
                    yield self.finding(batch.rows[i], "; ".join(problems))


def _problems(prompt) -> list[str]:
    problems = []
    turns = [m for m in prompt if m["role"] != "system"]
    problems += [f"a system message at position {k}" for k, m in enumerate(prompt) if m["role"] == "system" and k]
    problems += [
        f"an empty {m['role']} turn at position {k}"
        for k, m in enumerate(prompt)
        if not m["content"].strip() and not m.get("tool_calls")  # a turn that only calls a tool says nothing
    ]
    previous = None
    for k, message in enumerate(turns):
        role = message["role"]
        if role == previous and role in ("user", "assistant"):
            problems.append(f"two {role} turns in a row at turn {k}")
        elif role == "tool" and previous not in ("assistant", "tool"):
            problems.append(f"a tool turn that follows no assistant turn at turn {k}")
        previous = role
    if not turns:
        problems.append("the prompt has no user turn")
    elif turns[-1]["role"] not in ("user", "tool"):
        problems.append(f"the prompt ends with a {turns[-1]['role']} turn, not a user turn")
    return problems
