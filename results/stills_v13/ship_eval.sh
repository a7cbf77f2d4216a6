# LSP test, once, for the second opinion on a chest-up body's hips: eval and eval-framing with each bundle.
set -e
. .venv/bin/activate
out=results/stills_v13
mkdir -p $out
for b in onnx_mirror onnx int8; do
  pose-track eval --data ../shared/data/lsp --engine models/deeppose_lsp/$b > $out/eval_$b.txt 2> /dev/null
  pose-track eval-framing --data ../shared/data --engine models/deeppose_lsp/$b --json $out/framing_$b.json > $out/framing_$b.txt 2> /dev/null

done
