from array import array

from preflint.findings import Severity
from preflint.rule import DatasetRule
from preflint.rules._dedup import PromptIndex, prompt_text, signatures, words

SHOWN = 10


class NearDuplicatePrompt(DatasetRule):
    """Prompts that are near-duplicates of each other (not identical), reported as clusters.

    ## What it does
    Compares the distinct prompts of the dataset with MinHash LSH (rensa, 64 permutations, 16 bands): Jaccard
    similarity of word 3-gram shingles of the lowercased, whitespace-collapsed prompt, at least `threshold`
    (default 0.8). Identical prompts are not reported: several pairs per prompt is normal. Prompts with fewer than
    `min-words` words are skipped, as are the prompts of vision pairs (their words say little without their
    images: "Describe the image." asked of a thousand images is a thousand questions). Each cluster is one finding
    listing its rows (the first row of each distinct prompt), grouped around the earliest prompt of the cluster.

    ## Why is this bad?
    Templated or lightly edited prompts over-weight one task, and across splits they leak: a test prompt with a
    changed name or number is still a seen prompt.

    ## Example
    "Write a poem about the sea in the style of Keats." and "Write a poem about the sea in the style of Shelley."

    ## Fix safety
    No fix: whether the variants are redundant or intended is the author's call.
    """

    code = "D004"
    name = "near-duplicate-prompt"
    family = "dataset"
    severity = Severity.WARNING
    options = {"threshold": 0.8, "min-words": 5}

    def start(self):
        # leaders: each cluster's first prompt, its row and its key (16 bytes; the index labels them by position)
        return {"pending": [], "seen": set(), "index": None, "clusters": {}, "leaders": (array("q"), array("Q"))}

    def update(self, state, batch):
        candidates, keys = [], set()
        for i in batch.usable():
            prompt_key = batch.text_keys(i)[0]
            if prompt_key in keys:  # several pairs per prompt: the first one stands for them all (merge keeps it)
                continue
            keys.add(prompt_key)
            if batch.pairs[i].images or batch.pairs[i].side_images:
                continue
            text_words = words(prompt_text(batch.pairs[i]))
            if len(text_words) >= self.settings["min-words"]:
                candidates.append((batch.rows[i], prompt_key, text_words))
        sigs = signatures([text_words for _, _, text_words in candidates])
        state["pending"] += [(row, prompt_key, sig) for (row, prompt_key, _), sig in zip(candidates, sigs)]
        return state

    def merge(self, state, other):
        """Index the other state's prompts in row order: the sequential part, after signatures were computed."""
        if state["index"] is None:
            state["index"] = PromptIndex(self.settings["threshold"])
        index, seen, clusters = state["index"], state["seen"], state["clusters"]
        for row, prompt_key, sig in sorted(other["pending"], key=lambda item: item[0]):
            if prompt_key in seen:
                continue
            seen.add(prompt_key)
            leader = index.match(sig)
            rows, keys = state["leaders"]
            if leader is None:
                index.add(sig, len(rows))
                rows.append(row)
                keys.append(prompt_key)
            else:
                clusters.setdefault(rows[leader], [(rows[leader], keys[leader])]).append((row, prompt_key))
        return state

    def finish(self, state):
        for leader, members in sorted(state["clusters"].items()):
            rows = [row for row, _ in members]
            shown = ", ".join(map(str, rows[:SHOWN])) + (f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else "")
            yield self.finding(
                None,
                f"{len(rows)} near-duplicate prompts (Jaccard ≥ {self.settings['threshold']} on word 3-grams), "
                f"first at row {leader}: rows {shown}",
                about="prompts " + ",".join(sorted(f"{key:016x}" for _, key in members)),
            )
