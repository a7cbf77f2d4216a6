# LSP test, once, for the chest-up box: eval and eval-framing with each bundle, and the chest-up set with the
# box as it was (1.85), to compare.
set -e
. .venv/bin/activate
out=results/stills_v12
mkdir -p $out
for b in onnx_mirror onnx int8; do
  pose-track eval --data ../shared/data/lsp --engine models/deeppose_lsp/$b > $out/eval_$b.txt 2> /dev/null
  pose-track eval-framing --data ../shared/data --engine models/deeppose_lsp/$b --json $out/framing_$b.json > $out/framing_$b.txt 2> /dev/null
  python results/framing_probes/chest_up_lsp_before.py models/deeppose_lsp/$b 1.85 >> $out/chest_up_before.txt
done
