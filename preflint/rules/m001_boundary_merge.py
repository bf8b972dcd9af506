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
    when both replies begin with the same letters, the prompt ends inside the first word ("Assistant: D"). A chat
    template can also render the prompt alone differently from the same prompt before a reply: DeepSeek-R1's
    ends the generation prompt with `<think>\\n`, which the rendered conversation does not have (it drops the
    reasoning); the message then says what the training sequence lacks.

    ## Example
    ```jsonl
    {"prompt": "Human: Hi\\n\\nAssistant: ", "chosen": "Hello!", "rejected": "Go away."}
    ```

    ## Fix safety
    No automatic fix: move the space from the end of the prompt to the start of the responses (W001 can then
    make the sides agree). For a prompt the trainer extracts, give the data a prompt column, cut at the last
    turn boundary. For a template that renders the prompt alone differently, train with one whose generation prompt
    is the start of the rendered reply (a training variant of the model's template).
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
                    alone, joined = decode(prompt[max(0, at - 2) :]), decode(joint[max(0, at - 2) : at + 2])
                    if not batch.follows_prompt[i] and batch.is_chat(i):
                        message = (
                            f"the chat template renders the prompt alone ending {alone!r}, but {joined!r} before the "
                            f"{side} reply: the prompt alone is not where the conversation's reply starts, so the "
                            f"model is trained without {decode(prompt[at:])!r}, which it sees at inference"
                        )
                    else:
                        which = "the prompt the trainer extracts" if row.prompt_extracted else "the prompt"
                        why = (
                            " (it cuts the prompt where the two dialogues first differ)" if row.prompt_extracted else ""
                        )
                        message = (
                            f"{which} ends {alone!r} alone but {joined!r} with the {side} response: token {at} merges "
                            f"across the boundary{why}"
                        )
                    yield self.finding(batch.rows[i], message)
                    break
