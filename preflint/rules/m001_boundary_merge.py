from preflint.findings import Severity
from preflint.rule import RowRule
from preflint.trainers import common_prefix_length


class BoundaryMerge(RowRule):
    """Tokens merge across the prompt/response boundary: the prompt's tokens are not a prefix of prompt + response.

    ## What it does
    Tokenizes the prompt alone and the prompt followed by each response, as the trainer profile does, and reports
    pairs where the joint sequence does not start with the prompt's tokens. The message shows the tokens on both
    sides of the boundary, decoded.

    ## Why is this bad?
    At inference the model continues the prompt's tokens; in training it saw other ones. Trainers that take the
    prompt length from the prompt alone (OpenRLHF) then mask the wrong positions, and TRL moves the completion
    start and drops the end of the prompt from the training sequence. The usual cause is a prompt that ends with
    a space ("Assistant: ") or a reply that lacks one, so " Hello" is split as " " + "Hello". With whole dialogues
    and no prompt column (HH-RLHF), TRL takes the prompt to be the dialogues' common start, character by character:
    when both replies begin with the same letters, the prompt ends inside the first word ("Assistant: D").

    ## Example
    ```jsonl
    {"prompt": "Human: Hi\\n\\nAssistant: ", "chosen": "Hello!", "rejected": "Go away."}
    ```

    ## Fix safety
    No automatic fix: move the space from the end of the prompt to the start of the responses (W001 can then
    make the sides agree). For a prompt the trainer extracts, give the data a prompt column, cut at the last
    turn boundary.
    """

    code = "M001"
    name = "boundary-merge"
    family = "mask"
    severity = Severity.WARNING
    needs_trainer = True

    def check(self, batch):
        decode = batch.tokenizer.decode if batch.tokenizer else str
        for i, row in batch.trained():
            prompt = row.prompt_alone
            for side, inputs in row.sides():
                if inputs.altered:  # the trainer's reply is not the data's: M010 says what it is instead
                    continue
                joint = inputs.joint_ids
                if joint[: len(prompt)] != prompt:
                    at = common_prefix_length(prompt, joint)
                    if at == len(joint):  # the side stops inside the prompt (no reply message): M002's, not a merge
                        continue
                    which = "the prompt the trainer extracts" if row.prompt_extracted else "the prompt"
                    why = " (it cuts the prompt where the two dialogues first differ)" if row.prompt_extracted else ""
                    yield self.finding(
                        batch.rows[i],
                        f"{which} ends {decode(prompt[max(0, at - 2) :])!r} alone but "
                        f"{decode(joint[max(0, at - 2) : at + 2])!r} with the {side} response: token {at} merges "
                        f"across the boundary{why}",
                    )
                    break
