"""Reading and writing Caffe's files (prototxt, caffemodel) without Caffe."""
