"" optimize --function fake_strategy --space space.yaml --study-name live2 --storage "" \\
  --trials 3 --jobs 1 --quiet --best-out new.yaml
