# Sources of core/document: the typed document tree, the delta fold, the encoder and the diff.
target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/documenttree.h
    ${CMAKE_CURRENT_LIST_DIR}/documenttree.cpp
    ${CMAKE_CURRENT_LIST_DIR}/documenttree_p.h
    ${CMAKE_CURRENT_LIST_DIR}/documentstorage.cpp
    ${CMAKE_CURRENT_LIST_DIR}/documentencode.cpp
    ${CMAKE_CURRENT_LIST_DIR}/mutator.h
    ${CMAKE_CURRENT_LIST_DIR}/mutator.cpp
    ${CMAKE_CURRENT_LIST_DIR}/javascriptvalues.h
    ${CMAKE_CURRENT_LIST_DIR}/javascriptvalues.cpp
    ${CMAKE_CURRENT_LIST_DIR}/jsonerror.h
    ${CMAKE_CURRENT_LIST_DIR}/jsonerror.cpp
    ${CMAKE_CURRENT_LIST_DIR}/foldcommand.h
    ${CMAKE_CURRENT_LIST_DIR}/foldcommand.cpp
)
