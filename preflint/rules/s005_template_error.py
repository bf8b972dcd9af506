from preflint.defects import Defect
from preflint.findings import Severity
from preflint.rule import NOT_A_PAIR, DefectRule


class TemplateError(DefectRule):
    """The tokenizer's chat template raises an error on this conversation.

    ## What it does
    Renders every conversational row with the target tokenizer's chat template (in a sandbox) and reports the
    rows the template rejects, with the template's own message.

    ## Why is this bad?
    Templates enforce their model's conventions, e.g. "Conversation roles must alternate user/assistant".
    A trainer that meets such a row fails mid-run, or the row is skipped without a word.

    ## Example
    A Mistral-style template given two user turns in a row, or a system turn where the template allows none.

    ## Fix safety
    Safe: `preflint fix` drops the record and lists it in the rejects with this reason; no trainer can use it.
    """

    code = "S005"
    name = "template-error"
    family = "structure"
    severity = Severity.ERROR
    fix = NOT_A_PAIR
    defect = Defect.TEMPLATE_ERROR
