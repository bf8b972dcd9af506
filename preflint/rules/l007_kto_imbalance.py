from preflint.findings import Severity
from preflint.rule import DatasetRule
from preflint.shapes.samples import UNPAIRED

LOW, HIGH = 1.0, 4 / 3  # TRL's recommended range for desirable_weight * desirable / (undesirable_weight * undesirable)


class KTOImbalance(DatasetRule):
    """Unpaired (KTO) data whose desirable and undesirable examples are out of the balance KTO wants.

    ## What it does
    Counts the unpaired rows labelled desirable and undesirable and checks
    `desirable-weight × desirable / (undesirable-weight × undesirable)` against the range [1, 4/3] that the KTO
    paper (eq. 8) and TRL's KTOTrainer recommend. Out of range, it says which `desirable_weight` (or, not both,
    `undesirable_weight`) would bring it back, as TRL's warning does; with only one label, that KTO cannot learn.
    Set the two options to the weights your training uses.

    ## Why is this bad?
    KTO weighs the desirable and the undesirable losses by these weights; out of balance, one kind of example
    dominates the gradient and the model drifts towards producing (or avoiding) whatever is over-represented,
    rather than learning the difference. With a single label there is no difference to learn.

    ## Example
    400 desirable and 1,600 undesirable rows trained with both weights at 1.0: the ratio is 0.25.

    ## Fix safety
    No fix: set the weights (preferred) or resample.
    """

    code = "L007"
    name = "kto-imbalance"
    family = "labels"
    severity = Severity.WARNING
    options = {"desirable-weight": 1.0, "undesirable-weight": 1.0}

    def start(self):
        return [0, 0]  # desirable, undesirable

    def update(self, state, batch):
        for i in batch.with_samples():
            sample = batch.samples[i]
            if sample.form == UNPAIRED:
                state[0 if sample.desirable else 1] += 1
        return state

    def merge(self, state, other):
        return [a + b for a, b in zip(state, other)]

    def finish(self, state):
        desirable, undesirable = state
        if not desirable and not undesirable:
            return
        counts = f"{desirable:,} desirable and {undesirable:,} undesirable examples"
        if not desirable or not undesirable:
            yield self.finding(None, f"{counts}: KTO needs both to learn a difference", about="one label")
            return
        weights = self.settings["desirable-weight"], self.settings["undesirable-weight"]
        ratio = weights[0] * desirable / (weights[1] * undesirable)
        if LOW <= ratio <= HIGH:
            return
        wanted = undesirable * weights[1] / desirable
        yield self.finding(
            None,
            f"{counts}: desirable_weight × desirable / (undesirable_weight × undesirable) is {ratio:.2f} with weights "
            f"{weights[0]:g} and {weights[1]:g}, outside [1, 4/3]; set desirable_weight in [{wanted * LOW:.2f}, "
            f"{wanted * HIGH:.2f}] or undesirable_weight in [{weights[0] / wanted / HIGH:.2f}, "
            f"{weights[0] / wanted / LOW:.2f}], not both",
            about="balance",
        )
