"""Focal losses on known values, and the onset weight of the training objective."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from septimbre.model.losses import focal_loss_with_logits, transcription_loss


def test_focal_loss_matches_the_formula_by_hand():
    # one positive at p = 0.8 and one negative at p = 0.3 (logits from p), gamma 1, alpha 0.2
    p = torch.tensor([0.8, 0.3])
    logits = torch.log(p / (1 - p))
    target = torch.tensor([1.0, 0.0])
    pos = -0.2 * (1 - 0.8) * math.log(0.8)
    neg = -(1 - 0.2) * 0.3 * math.log(1 - 0.3)
    got = focal_loss_with_logits(logits, target, gamma=1.0, alpha=0.2)
    assert float(got) == pytest.approx((pos + neg) / 2, rel=1e-5)


def test_focal_loss_with_gamma_0_is_weighted_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(2, 84, 7)
    target = (torch.rand(2, 84, 7) > 0.7).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    got = focal_loss_with_logits(logits, target, gamma=0.0, alpha=0.5)  # both classes weighted 0.5
    assert float(got) == pytest.approx(0.5 * float(bce), rel=1e-5)


def test_focal_loss_stays_finite_for_confident_logits():
    logits = torch.tensor([80.0, -80.0, 80.0, -80.0])
    target = torch.tensor([1.0, 0.0, 0.0, 1.0])  # two right, two badly wrong
    got = focal_loss_with_logits(logits, target, gamma=1.0, alpha=0.2)
    assert math.isfinite(float(got)) and float(got) > 10.0


def test_onset_weight_scales_only_the_onset_term_of_the_objective():
    torch.manual_seed(1)
    on, fr = torch.randn(1, 84, 9), torch.randn(1, 84, 9)
    on_t, fr_t = (torch.rand(1, 84, 9) > 0.9).float(), (torch.rand(1, 84, 9) > 0.6).float()
    plain = transcription_loss(on, fr, on_t, fr_t)
    heavy = transcription_loss(on, fr, on_t, fr_t, onset_weight=4.0)
    assert float(heavy.onset) == float(plain.onset) and float(heavy.frame) == float(plain.frame)
    assert float(heavy.total) == pytest.approx(float(plain.frame) + 4.0 * float(plain.onset), rel=1e-6)
    assert float(plain.total) == pytest.approx(float(plain.frame) + float(plain.onset), rel=1e-6)


def test_train_config_rejects_a_non_positive_onset_weight():
    from septimbre.basicamt.train import TrainConfig
    from septimbre.utils.errors import ParameterError

    assert TrainConfig.from_dict({"onset_loss_weight": 4.0}).onset_loss_weight == 4.0
    with pytest.raises(ParameterError, match="onset_loss_weight"):
        TrainConfig.from_dict({"onset_loss_weight": 0.0})


def _held_note_and_a_new_one():
    """Row 10 sounds from frame 2 to 17 (onset at 2); row 30 starts at frame 10."""
    on, fr = torch.zeros(1, 84, 20), torch.zeros(1, 84, 20)
    fr[0, 10, 2:18] = 1
    on[0, 10, 2] = 1
    fr[0, 30, 10:14] = 1
    on[0, 30, 10] = 1
    return on, fr


def _focal_by_hand(logits, target, alpha):
    """Gamma-1 focal terms written out: (positive, negative) element tensors."""
    p = torch.sigmoid(logits)
    pos = -alpha * target * (1 - p) * torch.nn.functional.logsigmoid(logits)
    neg = -(1 - alpha) * (1 - target) * p * torch.nn.functional.logsigmoid(-logits)
    return pos, neg


def _plain_and_weighted(seed: int, **weight):
    """Random logits on :func:`_held_note_and_a_new_one`'s targets, scored plain and with ``weight``.

    Checks that the reported (unweighted) losses are the same; returns (logits, targets, plain,
    weighted)."""
    on_t, fr_t = _held_note_and_a_new_one()
    torch.manual_seed(seed)
    on, fr = torch.randn(1, 84, 20), torch.randn(1, 84, 20)
    plain = transcription_loss(on, fr, on_t, fr_t)
    weighted = transcription_loss(on, fr, on_t, fr_t, **weight)
    assert float(weighted.onset) == float(plain.onset) and float(weighted.frame) == float(plain.frame)
    return (on, fr), (on_t, fr_t), plain, weighted


def _assert_unweighted_off(mask, logits, targets, plain, weighted, **weight):
    """An onset logit moved at the first position outside ``mask`` moves both objectives alike."""
    (on, fr), (on_t, fr_t) = logits, targets
    r, t = torch.nonzero(mask[0] == 0)[0].tolist()
    on2 = on.clone()
    on2[0, r, t] += 3.0
    delta_plain = float(transcription_loss(on2, fr, on_t, fr_t).total) - float(plain.total)
    delta_weighted = float(transcription_loss(on2, fr, on_t, fr_t, **weight).total) - float(weighted.total)
    assert delta_weighted == pytest.approx(delta_plain, rel=1e-4)


def test_leak_mask_marks_a_held_pitch_around_another_notes_onset():
    from septimbre.model.losses import LEAK_REACH_FRAMES, leak_mask

    on, fr = _held_note_and_a_new_one()
    mask = leak_mask(on, fr)
    r = LEAK_REACH_FRAMES
    assert mask[0, 10].nonzero().flatten().tolist() == list(range(10 - r, 10 + r + 1))
    assert float(mask[0, 30].sum()) == 0.0  # the starting note itself is not a leak position
    assert float(mask.sum()) == 2 * r + 1  # silent pitches never are


def test_leak_weight_changes_only_the_objective_and_only_through_held_pitches():
    from septimbre.model.losses import leak_mask

    logits, targets, plain, leaky = _plain_and_weighted(2, leak_weight=5.0)
    (on, _), (on_t, fr_t) = logits, targets
    # the objective grows by 4x the onset negatives at the leak positions
    mask = leak_mask(on_t, fr_t)
    p = torch.sigmoid(on)
    neg = -(1 - 0.06) * p * torch.log1p(-p) * mask
    expected = float(plain.total) + 4.0 * float(neg.sum()) / on.numel()
    assert float(leaky.total) == pytest.approx(expected, rel=1e-5)
    # logits that change only off the leak positions move plain and leaky objectives alike
    _assert_unweighted_off(mask, logits, targets, plain, leaky, leak_weight=5.0)


def test_positive_weight_scales_only_the_positive_terms_of_the_objective():
    (on, fr), (on_t, fr_t), plain, heavy = _plain_and_weighted(3, positive_weight=3.0)
    # the objective grows by 2x the positive terms of both losses (alpha 0.2 frame, 0.06 onset)
    pos_f, _ = _focal_by_hand(fr, fr_t, 0.2)
    pos_o, _ = _focal_by_hand(on, on_t, 0.06)
    expected = float(plain.total) + 2.0 * (float(pos_f.mean()) + float(pos_o.mean()))
    assert float(heavy.total) == pytest.approx(expected, rel=1e-5)
    # no positives anywhere: the weight changes nothing
    zeros = torch.zeros_like(on_t)
    assert float(transcription_loss(on, fr, zeros, zeros, positive_weight=3.0).total) == pytest.approx(
        float(transcription_loss(on, fr, zeros, zeros).total), rel=1e-6)


@pytest.mark.parametrize("name, good, bad", [("leak_loss_weight", 10.0, -1.0),
                                             ("positive_loss_weight", 2.0, 0.0),
                                             ("harmonic_loss_weight", 3.0, 0.0),
                                             ("reattack_loss_weight", 5.0, -2.0)])
def test_train_config_rejects_a_non_positive_loss_weight(name, good, bad):
    from septimbre.basicamt.train import TrainConfig
    from septimbre.utils.errors import ParameterError

    assert getattr(TrainConfig.from_dict({name: good}), name) == good
    with pytest.raises(ParameterError, match=name):
        TrainConfig.from_dict({name: bad})


def test_harmonic_mask_marks_the_partials_of_sounding_notes():
    from septimbre.model.losses import HARMONIC_INTERVALS, harmonic_mask

    frame_t = torch.zeros(1, 84, 3)
    frame_t[0, 10, 1] = 1.0  # one note, frame 1 only
    mask = harmonic_mask(frame_t)
    assert sorted(int(r) for r, t in torch.nonzero(mask[0]).tolist() if t == 1) == [10 + k for k in HARMONIC_INTERVALS]
    assert float(mask[0, :, 0].sum()) == 0 and float(mask[0, :, 2].sum()) == 0  # nothing sounds there
    frame_t[0, 80, 0] = 1.0  # partials above the top row fall off the posteriorgram
    assert float(harmonic_mask(frame_t)[0, :, 0].sum()) == 0


def test_harmonic_weight_scales_both_terms_at_harmonic_positions_only():
    from septimbre.model.losses import harmonic_mask

    logits, targets, plain, heavy = _plain_and_weighted(4, harmonic_weight=3.0)
    assert float(heavy.total) > float(plain.total)
    # logits moved off the harmonic positions change both objectives alike
    _assert_unweighted_off(harmonic_mask(targets[1]), logits, targets, plain, heavy, harmonic_weight=3.0)


def test_loss_weights_multiply_where_they_meet():
    from septimbre.model.losses import harmonic_mask, leak_mask

    on_t, fr_t = _held_note_and_a_new_one()
    fr_t[0, 22, 2:18] = 1  # an octave above row 10: its positives and its leak positions are harmonic
    on_t[0, 22, 2] = 1
    h = 1 + 2.0 * harmonic_mask(fr_t)
    lk = 1 + 4.0 * leak_mask(on_t, fr_t)
    assert float(((h > 1) & (fr_t > 0)).sum()) > 0 and float(((h > 1) & (lk > 1)).sum()) > 0
    torch.manual_seed(5)
    on, fr = torch.randn(1, 84, 20), torch.randn(1, 84, 20)
    both = transcription_loss(on, fr, on_t, fr_t, positive_weight=2.0, harmonic_weight=3.0, leak_weight=5.0)
    f_pos, f_neg = _focal_by_hand(fr, fr_t, 0.2)
    o_pos, o_neg = _focal_by_hand(on, on_t, 0.06)
    expected = float(((2 * f_pos + f_neg) * h).mean()) + float(((2 * o_pos + o_neg * lk) * h).mean())
    assert float(both.total) == pytest.approx(expected, rel=1e-5)


def test_reattack_mask_marks_onsets_of_a_pitch_sounding_just_before():
    from septimbre.model.losses import REATTACK_REACH_FRAMES, reattack_mask

    k = REATTACK_REACH_FRAMES
    on, fr = _held_note_and_a_new_one()  # row 30 sounds in frames 10-13
    assert float(reattack_mask(on, fr).sum()) == 0  # two fresh onsets
    fr[0, 10, 18:20] = 1  # row 10 repeated at once at frame 18
    on[0, 10, 18] = 1
    near, far = on.clone(), on.clone()
    near[0, 30, 13 + k] = 1  # row 30 again k frames after its last frame: a re-attack
    far[0, 30, 14 + k] = 1  # one frame later: a fresh onset
    assert torch.nonzero(reattack_mask(near, fr)[0]).tolist() == [[10, 18], [30, 13 + k]]
    assert torch.nonzero(reattack_mask(far, fr)[0]).tolist() == [[10, 18]]


def test_reattack_weight_scales_only_the_onset_positives_at_reattacks():
    from septimbre.model.losses import reattack_mask

    on_t, fr_t = _held_note_and_a_new_one()
    fr_t[0, 10, 18:20] = 1
    on_t[0, 10, 18] = 1
    torch.manual_seed(6)
    on, fr = torch.randn(1, 84, 20), torch.randn(1, 84, 20)
    plain = transcription_loss(on, fr, on_t, fr_t)
    heavy = transcription_loss(on, fr, on_t, fr_t, reattack_weight=4.0)
    assert float(heavy.onset) == float(plain.onset)
    o_pos, _ = _focal_by_hand(on, on_t, 0.06)
    mask = reattack_mask(on_t, fr_t)
    assert float(mask.sum()) == 1
    expected = float(plain.total) + 3.0 * float((o_pos * mask).sum()) / on.numel()
    assert float(heavy.total) == pytest.approx(expected, rel=1e-5)


def test_unbroken_reattack_mask_marks_only_repeats_with_no_break_in_the_labels():
    from septimbre.model.losses import reattack_mask, unbroken_reattack_mask

    on, fr = _held_note_and_a_new_one()  # row 10 sounds in frames 2-17, row 30 in 10-13
    fr[0, 10, 18:20] = 1  # row 10 repeated at once at frame 18: no break
    on[0, 10, 18] = 1
    on[0, 30, 16] = 1  # row 30 again after a 2-frame break
    fr[0, 30, 16:18] = 1
    assert torch.nonzero(reattack_mask(on, fr)[0]).tolist() == [[10, 18], [30, 16]]
    assert torch.nonzero(unbroken_reattack_mask(on, fr)[0]).tolist() == [[10, 18]]
    assert float(unbroken_reattack_mask(*_held_note_and_a_new_one()).sum()) == 0


def test_unbroken_reattack_weight_replaces_the_reattack_weight_at_unbroken_repeats():
    from septimbre.model.losses import reattack_mask, unbroken_reattack_mask

    on_t, fr_t = _held_note_and_a_new_one()
    fr_t[0, 10, 18:20] = 1
    on_t[0, 10, 18] = 1  # unbroken re-attack
    on_t[0, 30, 16] = 1  # re-attack after a break
    fr_t[0, 30, 16:18] = 1
    torch.manual_seed(7)
    on, fr = torch.randn(1, 84, 20), torch.randn(1, 84, 20)
    plain = transcription_loss(on, fr, on_t, fr_t)
    o_pos, _ = _focal_by_hand(on, on_t, 0.06)
    unbroken = unbroken_reattack_mask(on_t, fr_t)
    broken = reattack_mask(on_t, fr_t) - unbroken
    assert float(unbroken.sum()) == 1 and float(broken.sum()) == 1
    ignored = transcription_loss(on, fr, on_t, fr_t, reattack_weight=4.0, unbroken_reattack_weight=0.0)
    expected = (float(plain.total) + 3.0 * float((o_pos * broken).sum()) / on.numel()
                - float((o_pos * unbroken).sum()) / on.numel())
    assert float(ignored.total) == pytest.approx(expected, rel=1e-5)
    same = transcription_loss(on, fr, on_t, fr_t, reattack_weight=4.0, unbroken_reattack_weight=4.0)
    default = transcription_loss(on, fr, on_t, fr_t, reattack_weight=4.0)
    assert float(same.total) == pytest.approx(float(default.total), rel=1e-6)
    assert float(ignored.onset) == float(plain.onset)


def test_train_config_takes_an_unbroken_reattack_weight_of_zero_but_not_below():
    from septimbre.basicamt.train import TrainConfig
    from septimbre.utils.errors import ParameterError

    assert TrainConfig(unbroken_reattack_loss_weight=0.0).unbroken_reattack_loss_weight == 0.0
    assert TrainConfig().unbroken_reattack_loss_weight is None
    with pytest.raises(ParameterError):
        TrainConfig(unbroken_reattack_loss_weight=-0.5)


def test_spread_onsets_softens_only_the_frames_next_to_an_onset():
    from septimbre.model.losses import spread_onsets

    on, _ = _held_note_and_a_new_one()  # onsets at (10, 2) and (30, 10)
    soft = spread_onsets(on, 0.5)
    assert soft[0, 10, 2] == 1 and soft[0, 30, 10] == 1
    assert soft[0, 10, 1] == 0.5 and soft[0, 10, 3] == 0.5 and soft[0, 30, 9] == 0.5 and soft[0, 30, 11] == 0.5
    assert float(soft.sum()) == 2 + 4 * 0.5  # nothing else, no other pitch
    assert torch.equal(spread_onsets(on, 0.0), on.float())


def test_spread_onsets_reaching_two_frames_decays_geometrically():
    from septimbre.model.losses import spread_onsets

    on, _ = _held_note_and_a_new_one()  # onsets at (10, 2) and (30, 10)
    soft = spread_onsets(on, 0.5, frames=2)
    row = soft[0, 30, 7:14].tolist()
    assert row == [0.0, 0.25, 0.5, 1.0, 0.5, 0.25, 0.0]
    assert soft[0, 10, 0] == 0.25 and soft[0, 10, 4] == 0.25
    assert float(soft.sum()) == 2 + 4 * 0.5 + 4 * 0.25
    assert torch.equal(spread_onsets(on, 0.5, frames=1), spread_onsets(on, 0.5))
    with pytest.raises(ValueError):
        spread_onsets(on, 0.5, frames=0)


def test_spread_onsets_keeps_the_nearer_onsets_value_between_close_onsets():
    from septimbre.model.losses import spread_onsets

    on = torch.zeros(1, 84, 12)
    on[0, 40, 3] = 1
    on[0, 40, 6] = 1  # frames 4, 5: one from one onset, two from the other
    soft = spread_onsets(on, 0.5, frames=2)
    assert soft[0, 40, 1:9].tolist() == [0.25, 0.5, 1.0, 0.5, 0.5, 1.0, 0.5, 0.25]


def test_onset_spread_changes_only_the_objective_through_the_soft_onset_targets():
    from septimbre.model.losses import spread_onsets

    on_t, fr_t = _held_note_and_a_new_one()
    torch.manual_seed(8)
    on, fr = torch.randn(1, 84, 20), torch.randn(1, 84, 20)
    plain = transcription_loss(on, fr, on_t, fr_t)
    soft = transcription_loss(on, fr, on_t, fr_t, onset_spread=0.5)
    assert float(soft.onset) == float(plain.onset) and float(soft.frame) == float(plain.frame)
    # the objective equals the plain objective evaluated on the softened onset targets
    by_hand = transcription_loss(on, fr, spread_onsets(on_t, 0.5), fr_t)
    assert float(soft.total) == pytest.approx(float(by_hand.total), rel=1e-6)
    assert float(soft.total) != pytest.approx(float(plain.total), rel=1e-4)
