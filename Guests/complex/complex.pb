
¢
complex.protocomplex"1
Complex
real (Rreal
imag (Rimag"P
ComplexRequest
a (2.complex.ComplexRa
b (2.complex.ComplexRb";
ComplexResponse(
result (2.complex.ComplexRresult"v

ComplexLog
a (2.complex.ComplexRa
b (2.complex.ComplexRb(
result (2.complex.ComplexRresult2F

Calculator8
mul.complex.ComplexRequest.complex.ComplexResponsebproto3