{
  "targets": [
    {
      "target_name": "magic_native",
      "sources": ["src/addon.c", "src/kernels.c", "src/optim.c", "src/fused.c", "src/attention.c", "src/conv.c"],
      "cflags": ["-O3", "-march=native", "-std=c11", "-fno-math-errno", "-fopenmp-simd", "<!@(pkg-config --cflags openblas)"],
      "cflags!": ["-O2"],
      "libraries": ["<!@(pkg-config --libs openblas)", "-lm"]
    }
  ]
}
