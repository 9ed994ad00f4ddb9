"""Issue 27's figures for one corpus: NLL with and without the n-gram mixture beside the best n-gram,
context gain, copy measures of samples with and without the mixture beside the eval split's own,
and both feature-overlap ratios, for both event families.

Usage: python benchmarks/ngram_mix_quality.py CORPUS [--preset default] [--out runs/issue27] [--num 8]
       [--families performance-rnn music-transformer] [--skip-train]

Each family's preset is trained with ``ngram_mix`` on (its weights are fitted on the held-apart
train slice at the first evaluation); ``composer evaluate`` then measures samples drawn with the
mixture, and a second evaluation samples the same run without it (``ngram_mix=False``).
Prints one Markdown table row per family; everything is also in OUT/<corpus>-<family>/eval-*/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from composer.corpus import Corpus
from composer.evaluate.markdown import weights_text
from composer.evaluate.report import evaluate
from composer.generate import generate
from composer.train.trainer import train

PRESETS = Path(__file__).resolve().parents[1] / "configs"
HEADER = ("| corpus | family | preset | NLL model | NLL mixture (w) | NLL one weight | best n-gram | mixture vs n-gram "
          "| context gain (events) | 8-gram share in train: mixture / plain / eval "
          "| longest run mean: mixture / plain / eval | overlap ratio eval / augmented ceiling (mixture) |")


def row(corpus: str, family: str, preset: str, mixed: dict, plain: dict) -> str:
    best = min(mixed["baseline_nll_per_event"].values())
    mix = mixed["ngram_mix"]
    copies = {name: m["copying"] for name, m in (("mixture", mixed), ("plain", plain))}
    share = " / ".join(f"{c:.3f}" for c in (copies["mixture"]["generated"]["ngram_share_in_train"],
                                            copies["plain"]["generated"]["ngram_share_in_train"],
                                            copies["mixture"]["eval (reference)"]["ngram_share_in_train"]))
    runs = " / ".join(f"{c:.1f}" for c in (copies["mixture"]["generated"]["longest_run_notes_mean"],
                                           copies["plain"]["generated"]["longest_run_notes_mean"],
                                           copies["mixture"]["eval (reference)"]["longest_run_notes_mean"]))
    gain = mixed.get("context_gain")
    gain = "n/a (no window reaches 256)" if gain is None else f"{gain:.3f} ({mixed['context_events_scored']})"
    return (f"| {corpus} | {family} | {preset} | {mix['nll_model']:.3f} | {mix['nll_mixture']:.3f} "
            f"({weights_text(mix)}) | {mix['nll_mixture_single']:.3f} | {best:.3f} | "
            f"{100 * (1 - mix['nll_mixture'] / best):.1f}% below | {gain} | "
            f"{share} | {runs} | {mixed['feature_overlap_ratio_eval_ceiling']:.3f} / "
            f"{mixed['feature_overlap_ratio_augmented_ceiling']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", type=Path, default=Path("runs/issue27"))
    parser.add_argument("--num", type=int, default=8, help="samples per evaluation")
    parser.add_argument("--families", nargs="+", default=["performance-rnn", "music-transformer"])
    parser.add_argument("--skip-train", action="store_true", help="evaluate existing run dirs")
    args = parser.parse_args()
    corpus = Corpus.open(args.corpus)
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    for family in args.families:
        folder = args.out / f"{args.corpus}-{family}"
        run_dir = folder / "run"
        if not args.skip_train:
            train(family, corpus=corpus, config_path=PRESETS / family.replace("-", "_") / f"{args.preset}.yaml",
                  run_dir=run_dir, sets=["ngram_mix=true"], progress=False)
        mixed = evaluate(run_dir, corpus=corpus, out=folder / "eval-mixture", num=args.num)
        samples = generate(run_dir, out=folder / "plain-samples" / "sample.mid", num=args.num, ngram_mix=False)
        plain = evaluate(run_dir, corpus=corpus, generated=samples, out=folder / "eval-plain")
        (folder / "figures.json").write_text(json.dumps({"mixture": mixed, "plain": plain}, indent=2))
        print(row(args.corpus, family, args.preset, mixed, plain), flush=True)


if __name__ == "__main__":
    main()
