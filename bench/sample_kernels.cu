// A sample of the kind of device code vLLM compiles: templated kernels instantiated for
// several types and tile sizes. Used by bench_nvcc_arch.py (written for hwdock).
#include <cuda_fp16.h>
#include <cuda_bf16.h>

template <typename T> __device__ float to_f(T v) { return static_cast<float>(v); }
template <> __device__ float to_f<__half>(__half v) { return __half2float(v); }
template <> __device__ float to_f<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ T from_f(float v) { return static_cast<T>(v); }
template <> __device__ __half from_f<__half>(float v) { return __float2half(v); }
template <> __device__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

template <typename T, int TILE>
__global__ void matmul(const T* a, const T* b, T* c, int n) {
  __shared__ float sa[TILE][TILE];
  __shared__ float sb[TILE][TILE];
  int row = blockIdx.y * TILE + threadIdx.y, col = blockIdx.x * TILE + threadIdx.x;
  float acc = 0.f;
  for (int t = 0; t < n; t += TILE) {
    sa[threadIdx.y][threadIdx.x] = (row < n && t + threadIdx.x < n) ? to_f(a[row * n + t + threadIdx.x]) : 0.f;
    sb[threadIdx.y][threadIdx.x] = (col < n && t + threadIdx.y < n) ? to_f(b[(t + threadIdx.y) * n + col]) : 0.f;
    __syncthreads();
#pragma unroll
    for (int k = 0; k < TILE; ++k) acc += sa[threadIdx.y][k] * sb[k][threadIdx.x];
    __syncthreads();
  }
  if (row < n && col < n) c[row * n + col] = from_f<T>(acc);
}

template <typename T, int BLOCK>
__global__ void rms_norm(T* out, const T* in, const T* w, int d, float eps) {
  __shared__ float red[BLOCK];
  const T* x = in + blockIdx.x * d;
  float s = 0.f;
  for (int i = threadIdx.x; i < d; i += BLOCK) { float v = to_f(x[i]); s += v * v; }
  red[threadIdx.x] = s;
  __syncthreads();
#pragma unroll
  for (int o = BLOCK / 2; o > 0; o >>= 1) { if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o]; __syncthreads(); }
  float inv = rsqrtf(red[0] / d + eps);
  for (int i = threadIdx.x; i < d; i += BLOCK) out[blockIdx.x * d + i] = from_f<T>(to_f(x[i]) * inv * to_f(w[i]));
}

template <typename T, int BLOCK>
__global__ void softmax(T* out, const T* in, int d) {
  __shared__ float red[BLOCK];
  const T* x = in + blockIdx.x * d;
  float m = -1e30f;
  for (int i = threadIdx.x; i < d; i += BLOCK) m = fmaxf(m, to_f(x[i]));
  red[threadIdx.x] = m; __syncthreads();
#pragma unroll
  for (int o = BLOCK / 2; o > 0; o >>= 1) { if (threadIdx.x < o) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + o]); __syncthreads(); }
  m = red[0]; __syncthreads();
  float s = 0.f;
  for (int i = threadIdx.x; i < d; i += BLOCK) s += __expf(to_f(x[i]) - m);
  red[threadIdx.x] = s; __syncthreads();
#pragma unroll
  for (int o = BLOCK / 2; o > 0; o >>= 1) { if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o]; __syncthreads(); }
  for (int i = threadIdx.x; i < d; i += BLOCK) out[blockIdx.x * d + i] = from_f<T>(__expf(to_f(x[i]) - m) / red[0]);
}

#define INST(T)                                                                   \
  template __global__ void matmul<T, 8>(const T*, const T*, T*, int);             \
  template __global__ void matmul<T, 16>(const T*, const T*, T*, int);            \
  template __global__ void matmul<T, 32>(const T*, const T*, T*, int);            \
  template __global__ void rms_norm<T, 128>(T*, const T*, const T*, int, float);  \
  template __global__ void rms_norm<T, 256>(T*, const T*, const T*, int, float);  \
  template __global__ void rms_norm<T, 1024>(T*, const T*, const T*, int, float); \
  template __global__ void softmax<T, 128>(T*, const T*, int);                    \
  template __global__ void softmax<T, 256>(T*, const T*, int);                    \
  template __global__ void softmax<T, 1024>(T*, const T*, int);

INST(float)
INST(__half)
INST(__nv_bfloat16)
